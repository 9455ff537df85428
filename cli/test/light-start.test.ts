/**
 * The `nst` command starts light: reading its settings and the admin token, building the
 * clients and failing to reach a server loads none of the services' heavy dependencies
 * (@nst/runtime's subpaths keep pino, OpenTelemetry's SDK, prom-client and the Elasticsearch
 * client out), nor any service package.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const HOOK = fileURLToPath(new URL('./fixtures/module-log.mjs', import.meta.url));
const HEAVY = /node_modules\/(pino|pino-pretty|@elastic\/|prom-client|@opentelemetry\/sdk-node|@opentelemetry\/exporter|@grpc\/reflection|onnxruntime-node|@tensorflow\/|sharp|fastify)\//;
const SERVICES = /\/(inference|trainer|mesh|gateway)\/src\//;

let dir: string;
let loaded: string[];
let stderr: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'nst-cli-modules-'));
  const log = path.join(dir, 'modules.txt');
  stderr = await new Promise<string>((resolve) =>
    execFile(
      process.execPath,
      ['--import', HOOK, path.join(REPO, 'cli/bin/nst.js'), 'styles', '--style-addr', '127.0.0.1:1'],
      { env: { ...process.env, NST_MODULE_LOG: log, NST_DATA_DIR: dir }, cwd: dir, timeout: 60_000 },
      (_error, _stdout, err) => resolve(err),
    ),
  );
  loaded = (await readFile(log, 'utf8')).trim().split('\n');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('nst styles against a StyleService that is not there', () => {
  it('answers with a sentence, having loaded its settings', () => {
    expect(stderr).toMatch(/cannot reach StyleService at 127\.0\.0\.1:1/);
    expect(loaded.some((url) => url.endsWith('/runtime/src/config.ts'))).toBe(true);
  });

  it('loads no heavy dependency of the services and no service package', () => {
    expect(loaded.filter((url) => HEAVY.test(url))).toEqual([]);
    expect(loaded.filter((url) => SERVICES.test(url))).toEqual([]);
  });
});

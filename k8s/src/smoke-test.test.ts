/**
 * ansible/files/smoke-test.sh, the deploy pipeline's smoke test, run for real against the
 * platform started as `npm start` starts it (each service its own process, talking gRPC): the
 * three gRPC health checks, a real StylizeImage of a photo, and gRPC-Web ListStyles through
 * the gateway (in the cluster: through Envoy). Only the port-forwarding to a cluster is not
 * exercised here.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from './render';

const run = promisify(execFile);

/** A port below the ephemeral range that nothing listens on now. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer().once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

let platform: ChildProcess | undefined;
let dataDir = '';
let output = '';
const addr: Record<'style' | 'trainer' | 'release' | 'web', string> = { style: '', trainer: '', release: '', web: '' };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nst-smoke-'));
  const [style, trainer, release, web] = [await freePort(), await freePort(), await freePort(), await freePort()];
  Object.assign(addr, { style: `127.0.0.1:${style}`, trainer: `127.0.0.1:${trainer}`, release: `127.0.0.1:${release}`, web: `127.0.0.1:${web}` });
  platform = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: REPO_DIR,
    env: {
      ...process.env,
      NST_DATA_DIR: dataDir,
      NST_STYLE_ADDR: addr.style,
      NST_TRAINER_ADDR: addr.trainer,
      NST_RELEASE_ADDR: addr.release,
      NST_GATEWAY_HOST: '127.0.0.1',
      NST_GATEWAY_PORT: String(web),
      NST_LOG_LEVEL: 'warn',
      // The fixed default metrics ports would collide with any other platform on this machine.
      NST_STYLE_METRICS_PORT: '0',
      NST_TRAINER_METRICS_PORT: '0',
      NST_RELEASE_METRICS_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Press Ctrl-C to stop.')) resolve();
    };
    platform!.stdout!.on('data', onData);
    platform!.stderr!.on('data', onData);
    platform!.once('exit', (code) => reject(new Error(`the platform exited (${code}) before it served:\n${output}`)));
  });
  await started;
}, 240_000);

afterAll(async () => {
  if (platform && platform.exitCode === null) {
    const exited = new Promise((resolve) => platform!.once('exit', resolve));
    platform.kill('SIGTERM');
    await exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('the deploy smoke test (ansible/files/smoke-test.sh)', () => {
  it('passes against a running platform: health over gRPC, a real stylize, gRPC-Web', async () => {
    const { stdout } = await run('bash', [join(REPO_DIR, 'ansible/files/smoke-test.sh')], {
      cwd: REPO_DIR,
      env: { ...process.env, SMOKE_STYLE: addr.style, SMOKE_TRAINER: addr.trainer, SMOKE_RELEASE: addr.release, SMOKE_WEB: addr.web },
      timeout: 180_000,
    });
    expect(stdout).toContain('smoke: nst.v1.StyleService SERVING');
    expect(stdout).toContain('smoke: nst.v1.ReleaseService SERVING');
    expect(stdout).toMatch(/smoke: stylized with "[a-z0-9-]+" version "\d+": \d+ bytes/);
    expect(stdout).toMatch(/smoke: gRPC-Web ListStyles lists [a-z0-9-]+/);
  }, 200_000);

  it('fails when a service is not there', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const attempt = run('bash', [join(REPO_DIR, 'ansible/files/smoke-test.sh')], {
      cwd: REPO_DIR,
      env: { ...process.env, SMOKE_STYLE: addr.style, SMOKE_TRAINER: addr.trainer, SMOKE_RELEASE: closed, SMOKE_WEB: addr.web, SMOKE_HEALTH_ATTEMPTS: '2' },
      timeout: 180_000,
    });
    await expect(attempt).rejects.toThrow(/ReleaseService at 127\.0\.0\.1:\d+ is not SERVING/);
  }, 200_000);
});

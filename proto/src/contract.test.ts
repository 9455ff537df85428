import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { reflectionDescriptors } from './index';

const run = promisify(execFile);
const protoDir = fileURLToPath(new URL('..', import.meta.url));
const binDir = fileURLToPath(new URL('../../node_modules/.bin', import.meta.url));
const buf = join(binDir, 'buf');
// buf finds the ts-proto plugin on PATH, as it does under `npm run generate`.
const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` };

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

describe('the nst.v1 contract', () => {
  const temps: string[] = [];
  afterAll(async () => {
    await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
  });

  it('passes buf lint (STANDARD and COMMENTS rules)', async () => {
    const { stdout, stderr } = await run(buf, ['lint', '--error-format', 'text'], { cwd: protoDir, env });
    expect(stdout.trim()).toBe('');
    expect(stderr).not.toMatch(/\.proto:\d+/);
  });

  it('makes no breaking change against main (buf breaking, FILE rules; scripts/breaking.sh)', async () => {
    // Passes with a note when main has no contract yet or is not fetched (a shallow clone).
    const { stdout, stderr } = await run('bash', [join(protoDir, 'scripts', 'breaking.sh')], { cwd: protoDir, env });
    expect(`${stdout}${stderr}`).toMatch(/no breaking changes|nothing to compare/);
  });

  it('ships compiler-built descriptors for reflection, with proto field names', () => {
    const files = reflectionDescriptors().map((bytes) => Buffer.from(bytes).toString('latin1'));
    const names = files.map((f) => /^\n.(.+?\.proto)/s.exec(f)?.[1]);
    expect(names).toEqual(
      expect.arrayContaining(['nst/v1/style_service.proto', 'nst/v1/trainer_service.proto', 'health/v1/health.proto']),
    );
    expect(files.join('')).toContain('client_id');
  });

  it('has committed generated code identical to a fresh ts-proto run', async () => {
    const out = await mkdtemp(join(tmpdir(), 'nst-proto-gen-'));
    temps.push(out);
    await run('bash', [join(protoDir, 'scripts', 'generate.sh'), out], { cwd: protoDir, env });
    const committed = join(protoDir, 'gen');
    const fresh = join(out, 'gen');
    const files = await listFiles(fresh);
    expect(await listFiles(committed)).toEqual(files);
    for (const file of files) {
      const [a, b] = await Promise.all([readFile(join(committed, file)), readFile(join(fresh, file))]);
      expect(a.equals(b), `gen/${file} differs from a fresh generate; run npm run -w @nst/proto generate`).toBe(true);
    }
  });
});

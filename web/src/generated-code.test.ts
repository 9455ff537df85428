/**
 * The browser's generated client code (src/gen) is what a fresh `npm run -w @nst/web generate`
 * makes from the current contract: nobody edited it, and nobody forgot to regenerate it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const webDir = fileURLToPath(new URL('..', import.meta.url));
const binDir = fileURLToPath(new URL('../../node_modules/.bin', import.meta.url));
const env = { ...process.env, PATH: `${binDir}:${process.env['PATH'] ?? ''}` };

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name))).sort();
}

const temps: string[] = [];
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

it('has committed generated client code identical to a fresh ts-proto run', async () => {
  const out = await mkdtemp(join(tmpdir(), 'nst-web-gen-'));
  temps.push(out);
  await run(join(binDir, 'buf'), ['generate', '--output', out], { cwd: webDir, env });
  const committed = join(webDir, 'src', 'gen');
  const fresh = join(out, 'src', 'gen');
  const files = await listFiles(fresh);
  expect(files.length).toBeGreaterThan(0);
  expect(await listFiles(committed)).toEqual(files);
  for (const file of files) {
    const [a, b] = await Promise.all([readFile(join(committed, file)), readFile(join(fresh, file))]);
    expect(a.equals(b), `web/src/gen/${file} differs from a fresh generate; run npm run -w @nst/web generate`).toBe(true);
  }
});

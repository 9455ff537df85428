/**
 * Crash safety across processes: writers in child processes are SIGKILLed mid-registration,
 * and two writers register into the same style at once.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistry } from './model-registry';
import { spawnTsx } from '../testing/child';

const WRITER = fileURLToPath(new URL('./registry-writer.fixture.ts', import.meta.url));
const PAYLOAD_BYTES = 3 * 1024 * 1024; // model and weights each: big enough that a kill lands mid-write
// Kill rounds: at least MIN_ROUNDS, and more (up to MAX_ROUNDS) until two kills have landed
// inside a registration; most do, since the writer keeps three in flight.
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 10;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-registry-crash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function reported(lines: string[]): Map<number, string> {
  const versions = new Map<number, string>();
  for (const line of lines) {
    const match = /^registered (\d+) ([0-9a-f]{64})$/.exec(line);
    if (match) versions.set(Number(match[1]), match[2] as string);
  }
  return versions;
}

describe('registry crash safety', () => {
  it('keeps every version reported complete, and shows no half version, after SIGKILL mid-write', async () => {
    const acknowledged = new Map<number, string>();
    let killsMidWrite = 0;
    for (let round = 0; round < MAX_ROUNDS && (round < MIN_ROUNDS || killsMidWrite < 2); round++) {
      const writer = spawnTsx(WRITER, [dir, 'mosaic', String(PAYLOAD_BYTES), 'forever', `round${round}`]);
      await writer.waitForLine(/^ready$/);
      // Let it register a few, then kill it at a random moment.
      await writer.waitForLine(/^registered /);
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 400));
      writer.process.kill('SIGKILL');
      const { signal } = await writer.exited;
      expect(signal).toBe('SIGKILL');
      for (const [version, sha] of reported(writer.lines)) acknowledged.set(version, sha);
      const leftovers = (await readdir(join(dir, 'mosaic'))).filter((name) => name.startsWith('.tmp-'));
      if (leftovers.length > 0) killsMidWrite++;

      const registry = await ModelRegistry.open(dir);
      const { intact, corrupt } = await registry.checkVersions('mosaic');
      expect(corrupt).toEqual([]);
      const listed = new Map(intact.map((v) => [v.version, v.metadata.sha256.model]));
      for (const [version, sha] of acknowledged) {
        expect(listed.get(version), `version ${version} was acknowledged`).toBe(sha);
        expect((await registry.getVersion('mosaic', version)).metadata.sha256.model).toBe(sha);
      }
      // Numbers stay consecutive; at most one version per kill finished without being reported.
      expect([...listed.keys()]).toEqual(Array.from({ length: listed.size }, (_, i) => i + 1));
      expect(listed.size - acknowledged.size).toBeLessThanOrEqual(round + 1);
      // The half-written folder is gone after open.
      expect((await readdir(join(dir, 'mosaic'))).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    }
    const registry = await ModelRegistry.open(dir);
    const model = await registry.readModel('mosaic', (await registry.latestVersion('mosaic')).version);
    expect(model.length).toBe(PAYLOAD_BYTES);
    // The kill must have interrupted registrations, or the test proved nothing.
    expect(killsMidWrite).toBeGreaterThanOrEqual(2);
  });

  it('gives two processes registering at once distinct consecutive numbers', async () => {
    const count = 10;
    // Each round is checked in full; rounds go on (up to five) until one shows the two really
    // overlapped (neither got one contiguous block): on a loaded machine one writer can be
    // scheduled late enough to finish before the other starts.
    let overlapped = false;
    for (let round = 1; round <= 5 && !overlapped; round++) {
      const style = `swirl-${round}`;
      const writers = ['a', 'b'].map((tag) => spawnTsx(WRITER, [dir, style, String(256 * 1024), String(count), tag, 'wait']));
      await Promise.all(writers.map((w) => w.waitForLine(/^ready$/)));
      for (const w of writers) w.send('go');
      const results = await Promise.all(writers.map((w) => w.exited));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const [a, b] = writers.map((w) => reported(w.lines)) as [Map<number, string>, Map<number, string>];
      expect(a.size + b.size).toBe(2 * count);
      const numbers = [...a.keys(), ...b.keys()].sort((x, y) => x - y);
      expect(numbers).toEqual(Array.from({ length: 2 * count }, (_, i) => i + 1));
      const aNumbers = [...a.keys()];
      overlapped = Math.max(...aNumbers) - Math.min(...aNumbers) + 1 > count;
      const registry = await ModelRegistry.open(dir);
      for (const [version, sha] of [...a, ...b]) {
        expect((await registry.getVersion(style, version)).metadata.sha256.model).toBe(sha);
      }
    }
    expect(overlapped, 'two writers overlapped in at least one round').toBe(true);
  });
});

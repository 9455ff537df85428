import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonlLog } from './jsonl-log';

/** This process's open file descriptors that point at `path` (Linux: /proc/self/fd). */
async function descriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) count++;
  }
  return count;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-jsonl-log-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.runIf(process.platform === 'linux')('JsonlLog file handles', () => {
  it.each([false, true])('an open that fails while reading (readOnly: %s) closes its file handle instead of leaving it to the garbage collector', async (readOnly) => {
    const path = join(dir, `failing-${readOnly}.jsonl`);
    await writeFile(path, '{"n":1}\n');
    const failing = JsonlLog.open<unknown>(path, {
      readOnly,
      parse: (value) => value,
      onEntry: () => {
        throw new Error('index refused the entry');
      },
    });
    await expect(failing).rejects.toThrow('index refused the entry');
    expect(await descriptorsOn(path)).toBe(0);
  });

  it('close leaves no handle open, after a reader reloaded a replaced file', async () => {
    const path = join(dir, 'replaced.jsonl');
    const writer = await JsonlLog.open<{ n: number }>(path, { parse: (value) => value as { n: number } });
    let seen: number[] = [];
    const reader = await JsonlLog.open<{ n: number }>(path, {
      readOnly: true,
      parse: (value) => value as { n: number },
      onEntry: (entry) => seen.push(entry.n),
      onReset: () => (seen = []),
    });
    await writer.append({ n: 1 });
    await writer.append({ n: 2 });
    await reader.refresh();
    expect(seen).toEqual([1, 2]);
    // Retention renames a new file over the old one: the reader reopens it.
    await writer.retain((entry) => entry.n === 2);
    await reader.refresh();
    expect(seen).toEqual([2]);
    await Promise.all([writer.close(), reader.close()]);
    expect(await descriptorsOn(path)).toBe(0);
  });
});

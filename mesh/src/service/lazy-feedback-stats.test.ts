import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEEDBACK_FILE, JsonlFeedbackStore } from '@nst/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LazyFeedbackStats } from './release-server';

/** This process's open file descriptors that point at `path` (Linux: /proc/self/fd). */
async function descriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === path) count++;
  }
  return count;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-lazy-stats-'));
  // StyleService (the writer) creates the file; the release analysis only reads it.
  const writer = await JsonlFeedbackStore.open(dir);
  await writer.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.runIf(process.platform === 'linux')('LazyFeedbackStats', () => {
  it('opens the feedback file once when the analysis asks for both arms at once, and close leaves no handle open', async () => {
    const file = join(dir, FEEDBACK_FILE);
    const stats = new LazyFeedbackStats(dir);
    // The analysis asks for stable and canary together (Promise.all): a second open left a
    // FileHandle for the garbage collector ("Closing file descriptor N on garbage collection", DEP0137).
    await Promise.all([stats.stats({ style: 'mosaic', version: '1' }), stats.stats({ style: 'mosaic', version: '2' })]);
    expect(await descriptorsOn(file)).toBe(1);
    await stats.close();
    expect(await descriptorsOn(file)).toBe(0);
  });
});

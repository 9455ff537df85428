import { mkdtemp, readFile, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PhotoKeeper } from './photo-keeper';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function keeper(overrides: { holdBytes?: number; holdMs?: number; now?: () => number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'nst-photos-'));
  dirs.push(dir);
  return {
    dir,
    keeper: new PhotoKeeper({ dir, holdBytes: 1000, holdMs: 60_000, retentionMs: 86_400_000, ...overrides }),
  };
}

const photo = (size: number) => ({ bytes: Buffer.alloc(size, 7), format: 'jpeg', style: 's', version: 'v1' });

describe('PhotoKeeper', () => {
  it('writes nothing to disk until a held photo is kept, then writes it durably', async () => {
    const { dir, keeper: k } = await keeper();
    k.hold('req-1', photo(100));
    expect(await readdir(dir)).toEqual([]);
    const ref = await k.keep('req-1', 'feedback-1');
    expect(ref).toBe('feedback-1.jpeg');
    expect(k.pathOf(ref!)).toBe(join(dir, 'feedback-1.jpeg'));
    expect((await readFile(k.pathOf(ref!))).length).toBe(100);
    expect(await readdir(dir)).toEqual(['feedback-1.jpeg']);
  });

  it('forgets uploads past the hold time or beyond the byte budget', async () => {
    let now = 0;
    const { keeper: k } = await keeper({ holdBytes: 250, holdMs: 1000, now: () => now });
    k.hold('old', photo(100));
    now = 500;
    k.hold('a', photo(100));
    k.hold('b', photo(100)); // 300 bytes held: over budget, the oldest goes
    expect(k.get('old')).toBeUndefined();
    expect(k.get('a')).toBeDefined();
    now = 1600;
    expect(k.get('a')).toBeUndefined();
    expect(await k.keep('a', 'f')).toBeUndefined();
  });

  it('deletes kept photos older than the retention limit', async () => {
    const { dir, keeper: k } = await keeper();
    k.hold('r1', photo(10));
    k.hold('r2', photo(10));
    const stale = k.pathOf((await k.keep('r1', 'stale'))!);
    await k.keep('r2', 'fresh');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(stale, twoDaysAgo, twoDaysAgo);
    expect(await k.sweep()).toBe(1);
    expect(await readdir(dir)).toEqual(['fresh.jpeg']);
  });
});

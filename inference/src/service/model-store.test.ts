import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@nst/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelMismatchError, ModelStore } from './model-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-model-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const model = (fill: number, size = 1000) => new Uint8Array(size).fill(fill);
const expected = (style: string, version: string, bytes: Uint8Array) => ({ style, version, sha256: sha256(bytes), sizeBytes: bytes.length });

describe('ModelStore', () => {
  it('deletes the least recently used models once the total is over its size, never the one just fetched', async () => {
    const store = new ModelStore({ dir, maxBytes: 2500 });
    const [a, b, c] = [model(1), model(2), model(3)];
    await store.get(expected('s', '1', a), async () => a);
    await store.get(expected('s', '2', b), async () => b);
    await store.get(expected('s', '1', a), async () => a); // 1 is now the most recently used
    await store.get(expected('s', '3', c), async () => c);
    const names = (await readdir(dir)).sort();
    expect(names.map((n) => n.split('-')[0])).toEqual(['s@1', 's@3']);
    expect(store.totalBytes()).toBe(2000);
    expect(store.stats).toEqual({ hits: 1, fetches: 3, corrupt: 0 });
  });

  it('keeps what it cached across restarts and shares one fetch between concurrent callers', async () => {
    const a = model(7);
    let fetches = 0;
    const first = new ModelStore({ dir, maxBytes: 10_000 });
    const fetch = async () => {
      fetches++;
      return a;
    };
    await Promise.all([first.get(expected('s', '1', a), fetch), first.get(expected('s', '1', a), fetch)]);
    expect(fetches).toBe(1);
    const second = new ModelStore({ dir, maxBytes: 10_000 });
    await second.get(expected('s', '1', a), fetch);
    expect(fetches).toBe(1);
    expect(second.stats.hits).toBe(1);
  });

  it('refuses to cache bytes that do not match the sha256 the catalogue names', async () => {
    const store = new ModelStore({ dir, maxBytes: 10_000 });
    await expect(store.get(expected('s', '1', model(1)), async () => model(2))).rejects.toBeInstanceOf(ModelMismatchError);
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { ModelCache } from './model-cache';

class Tracked {
  disposed = false;
  constructor(readonly key: string) {}
  dispose(): void {
    this.disposed = true;
  }
}

describe('ModelCache', () => {
  it('loads each (style, version) once, even for concurrent first requests', async () => {
    const loads: string[] = [];
    const cache = new ModelCache(2, async (style, version) => {
      loads.push(`${style}@${version}`);
      await new Promise((r) => setTimeout(r, 5));
      return new Tracked(`${style}@${version}`);
    });
    const keys = await Promise.all([1, 2, 3].map(() => cache.use('mosaic', 'v1', async (m) => m.key)));
    expect(keys).toEqual(['mosaic@v1', 'mosaic@v1', 'mosaic@v1']);
    expect(loads).toEqual(['mosaic@v1']);
  });

  it('evicts the least recently used model, disposing it only after its last request ends', async () => {
    const models: Tracked[] = [];
    const cache = new ModelCache(1, async (style, version) => {
      const model = new Tracked(`${style}@${version}`);
      models.push(model);
      return model;
    });
    let finishFirst!: () => void;
    const first = cache.use('a', 'v1', (m) => new Promise<Tracked>((r) => (finishFirst = () => r(m))));
    await new Promise((r) => setTimeout(r, 0));
    await cache.use('b', 'v1', async () => undefined);
    expect(cache.keys()).toEqual(['b@v1']);
    expect(models[0]!.disposed).toBe(false);
    finishFirst();
    await first;
    expect(models[0]!.disposed).toBe(true);
    expect(models[1]!.disposed).toBe(false);
    await cache.close();
    expect(models[1]!.disposed).toBe(true);
  });

  it('does not cache a failed load', async () => {
    let attempts = 0;
    const cache = new ModelCache(2, async () => {
      attempts++;
      if (attempts === 1) throw new Error('model file unreadable');
      return new Tracked('ok');
    });
    await expect(cache.use('a', 'v1', async (m) => m.key)).rejects.toThrow('unreadable');
    await expect(cache.use('a', 'v1', async (m) => m.key)).resolves.toBe('ok');
  });
});

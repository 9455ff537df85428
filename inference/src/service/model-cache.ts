/**
 * Loaded style models, one per (style, version), kept in a small LRU. Loading is lazy and
 * shared: concurrent requests for a model that is still loading wait for the same load. A
 * model evicted while requests are still running on it is disposed when the last one ends.
 */
export interface DisposableModel {
  dispose(): Promise<void> | void;
}

interface Entry<M> {
  key: string;
  model: Promise<M>;
  leases: number;
  evicted: boolean;
}

export class ModelCache<M extends DisposableModel> {
  // Map iteration order is insertion order: re-inserting on use keeps the LRU at the front.
  private readonly entries = new Map<string, Entry<M>>();

  constructor(
    private readonly capacity: number,
    private readonly load: (style: string, version: string) => Promise<M>,
  ) {
    if (capacity < 1) throw new RangeError('model cache capacity must be at least 1');
  }

  /** Keys ("style@version") of the cached models, least recently used first. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Runs `work` with the model of (style, version), loading it first if needed. */
  async use<T>(style: string, version: string, work: (model: M) => Promise<T>): Promise<T> {
    const key = `${style}@${version}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
    } else {
      entry = { key, model: this.load(style, version), leases: 0, evicted: false };
      // A failed load must not stay cached: the next request retries.
      entry.model.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
    this.entries.set(key, entry);
    this.evictOverCapacity();
    entry.leases++;
    try {
      return await work(await entry.model);
    } finally {
      entry.leases--;
      if (entry.evicted && entry.leases === 0) await this.dispose(entry);
    }
  }

  /** Disposes every model (those in use are disposed when their requests end). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const entry of all) entry.evicted = true;
    await Promise.all(all.filter((e) => e.leases === 0).map((e) => this.dispose(e)));
  }

  private evictOverCapacity(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.capacity) return;
      this.entries.delete(key);
      entry.evicted = true;
      if (entry.leases === 0) void this.dispose(entry);
    }
  }

  private async dispose(entry: Entry<M>): Promise<void> {
    const model = await entry.model.catch(() => undefined);
    await model?.dispose();
  }
}

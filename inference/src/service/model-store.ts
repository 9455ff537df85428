/**
 * StyleService's own disk cache of ONNX models fetched from TrainerService. A version's model
 * never changes, so a cached file is valid for good once its bytes match the sha256 the
 * catalogue names: that is checked before a file is written and again on every read, and a
 * file that fails the check is deleted and fetched again. Files are written whole (fsync'd
 * temporary file, then rename), named by style, version and sha256, and the least recently
 * used are deleted when the total is over the size limit (NST_MODEL_CACHE_MIB).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedSerializer, errorCode, fsyncDir, sha256 } from '@nst/runtime';

export interface ExpectedModel {
  style: string;
  version: string;
  sha256: string;
  sizeBytes: number;
}

export interface ModelStoreOptions {
  /** Folder of cached models (created on demand; StyleService's own). */
  dir: string;
  /** Most bytes of models kept; the least recently used go first. */
  maxBytes: number;
  /** Told about a cached file that failed its check (it is then deleted and fetched again). */
  onCorrupt?: (model: ExpectedModel, reason: string) => void;
}

export interface ModelStoreStats {
  hits: number;
  fetches: number;
  corrupt: number;
}

interface Entry {
  file: string;
  bytes: number;
  usedAt: number;
}

const FILE_PATTERN = /^([a-z0-9][a-z0-9-]{0,47})@([1-9][0-9]{0,8})-([0-9a-f]{64})\.onnx$/;

export class ModelStore {
  private readonly entries = new Map<string, Entry>();
  private readonly serial = new KeyedSerializer();
  private scanned: Promise<void> | undefined;
  /** Last use stamp handed out: milliseconds, but strictly increasing so uses in one millisecond keep their order. */
  private clock = 0;
  readonly stats: ModelStoreStats = { hits: 0, fetches: 0, corrupt: 0 };

  constructor(private readonly options: ModelStoreOptions) {}

  /** Whether a verified copy may be on disk (it is checked again when read). */
  has(style: string, version: string): boolean {
    for (const key of this.entries.keys()) if (key.startsWith(`${style}@${version}-`)) return true;
    return false;
  }

  /** Bytes of models on disk. */
  totalBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.bytes;
    return total;
  }

  /**
   * The model's bytes: from disk when a copy matches its sha256, else from `fetch` (checked
   * before it is written). Concurrent calls for one model share one fetch.
   */
  async get(expected: ExpectedModel, fetch: () => Promise<Uint8Array>): Promise<Uint8Array> {
    await this.scan();
    const name = `${expected.style}@${expected.version}-${expected.sha256}.onnx`;
    return this.serial.run(name, async () => {
      const cached = await this.readVerified(name, expected);
      if (cached) {
        this.stats.hits++;
        return cached;
      }
      const bytes = await fetch();
      this.stats.fetches++;
      const actual = sha256(bytes);
      if (actual !== expected.sha256 || bytes.length !== expected.sizeBytes) {
        throw new ModelMismatchError(
          `the model of style ${expected.style} version ${expected.version} arrived as ${bytes.length} bytes with sha256 ${actual.slice(0, 12)}…, ` +
            `not the ${expected.sizeBytes} bytes with sha256 ${expected.sha256.slice(0, 12)}… the catalogue names`,
        );
      }
      await this.write(name, bytes);
      await this.evict(name);
      return bytes;
    });
  }

  private async readVerified(name: string, expected: ExpectedModel): Promise<Uint8Array | undefined> {
    const file = join(this.options.dir, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      this.entries.delete(name);
      return undefined;
    }
    if (sha256(bytes) !== expected.sha256) {
      this.stats.corrupt++;
      this.options.onCorrupt?.(expected, `${file} does not match its sha256`);
      await rm(file, { force: true });
      this.entries.delete(name);
      return undefined;
    }
    const now = this.stamp();
    this.entries.set(name, { file, bytes: bytes.length, usedAt: now });
    // The file's mtime carries the last use across restarts (for the LRU order after a scan).
    await utimes(file, now / 1000, now / 1000).catch(() => undefined);
    return bytes;
  }

  private async write(name: string, bytes: Uint8Array): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    const file = join(this.options.dir, name);
    const temp = join(this.options.dir, `.${name}.${randomUUID()}.tmp`);
    const handle = await open(temp, 'w', 0o444);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    await fsyncDir(this.options.dir);
    this.entries.set(name, { file, bytes: bytes.length, usedAt: this.stamp() });
  }

  private stamp(): number {
    this.clock = Math.max(Date.now(), this.clock + 1);
    return this.clock;
  }

  /** Deletes the least recently used models until the total fits, never `keep` (just written). */
  private async evict(keep: string): Promise<void> {
    const order = [...this.entries.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt);
    let total = this.totalBytes();
    for (const [name, entry] of order) {
      if (total <= this.options.maxBytes) return;
      if (name === keep) continue;
      await rm(entry.file, { force: true });
      this.entries.delete(name);
      total -= entry.bytes;
    }
  }

  /** Learns what an earlier run left on disk; removes temporary files a crash left behind. */
  private scan(): Promise<void> {
    this.scanned ??= (async () => {
      let names: string[];
      try {
        names = await readdir(this.options.dir);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return;
        throw error;
      }
      for (const name of names) {
        const file = join(this.options.dir, name);
        if (name.endsWith('.tmp')) {
          await rm(file, { force: true });
          continue;
        }
        if (!FILE_PATTERN.test(name)) continue;
        const info = await stat(file).catch(() => undefined);
        if (info?.isFile()) this.entries.set(name, { file, bytes: info.size, usedAt: info.mtimeMs });
      }
    })();
    return this.scanned;
  }
}

/** A fetched model that does not match what the catalogue names (damaged on the way, or a stale catalogue). */
export class ModelMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelMismatchError';
  }
}

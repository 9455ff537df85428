/**
 * The embedded feedback store: one append-only JSON-lines file, `<dir>/feedback.jsonl`.
 *
 * - Durable before acknowledged: an append resolves only after its line is written and the file
 *   fdatasync'd. Appends that arrive while a sync is in flight are written together and share the
 *   next sync (group commit), so throughput grows with concurrency instead of paying one sync each.
 * - Idempotent: a record whose id is stored, or is being stored, is not written again.
 * - Crash tolerant: a line is acknowledged only whole, so anything after the last newline is a
 *   torn write of an unacknowledged batch; it is ignored on load and cut off when a writer opens.
 *
 * One process writes (StyleService); others may open the file read-only (the trainer) and see
 * new lines as they are appended. Hand-written rather than a database: the contract is one file,
 * a few dozen lines, and the durability rules above are easier to prove here than to configure.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedSerializer, errorCode, fsyncDir, writeFileDurable } from '../durable-fs';
import {
  FeedbackRecordSchema,
  FeedbackValidationError,
  matches,
  statsByVersionOf,
  statsOf,
  type FeedbackQuery,
  type FeedbackRecord,
  type FeedbackStats,
  type FeedbackStore,
  type VersionFeedbackStats,
} from './feedback-store';

export const FEEDBACK_FILE = 'feedback.jsonl';
const READ_CHUNK = 1 << 20;

interface Pending {
  record: FeedbackRecord;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface JsonlFeedbackStoreOptions {
  /** Reads only: sees lines other processes append; append and prune are refused. */
  readOnly?: boolean;
}

export class JsonlFeedbackStore implements FeedbackStore {
  private readonly records: FeedbackRecord[] = [];
  private readonly ids = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private readonly io = new KeyedSerializer();
  /** Bytes of whole lines read or written: where the next line starts. */
  private size = 0;
  private inode = 0;
  private closed = false;
  /** Set when a failed write could not be undone; appends are refused until reopened. */
  private broken: Error | undefined;
  /** Lines that could not be parsed (skipped), for operators. */
  skippedLines = 0;
  /** Bytes of a torn last line cut off at open. */
  truncatedBytes = 0;

  private constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private handle: FileHandle,
  ) {}

  static async open(dir: string, options: JsonlFeedbackStoreOptions = {}): Promise<JsonlFeedbackStore> {
    const path = join(dir, FEEDBACK_FILE);
    const readOnly = options.readOnly ?? false;
    if (!readOnly) await mkdir(dir, { recursive: true });
    let handle: FileHandle;
    try {
      handle = await open(path, readOnly ? 'r' : 'a+');
    } catch (error) {
      if (readOnly && errorCode(error) === 'ENOENT') throw new Error(`feedback file ${path} does not exist`);
      throw error;
    }
    const store = new JsonlFeedbackStore(path, readOnly, handle);
    if (!readOnly) await fsyncDir(dir);
    await store.load();
    return store;
  }

  append(input: FeedbackRecord): Promise<void> {
    if (this.readOnly) return Promise.reject(new Error(`feedback store ${this.path} is open read-only`));
    if (this.closed) return Promise.reject(new Error('feedback store is closed'));
    if (this.broken) return Promise.reject(this.broken);
    const parsed = FeedbackRecordSchema.safeParse(input);
    if (!parsed.success) {
      return Promise.reject(
        new FeedbackValidationError(parsed.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ')),
      );
    }
    const record = parsed.data;
    if (this.ids.has(record.id)) return Promise.resolve();
    const pending = this.inFlight.get(record.id);
    if (pending) return pending;
    const durable = new Promise<void>((resolve, reject) => this.queue.push({ record, resolve, reject }));
    this.inFlight.set(record.id, durable);
    this.kick();
    return durable;
  }

  async query(filter: FeedbackQuery = {}): Promise<FeedbackRecord[]> {
    await this.refresh();
    return this.records.filter((record) => matches(record, filter));
  }

  async stats(filter: FeedbackQuery = {}): Promise<FeedbackStats> {
    return statsOf(await this.query(filter));
  }

  async statsByVersion(filter: FeedbackQuery = {}): Promise<VersionFeedbackStats[]> {
    return statsByVersionOf(await this.query(filter));
  }

  /** Whether a record with this id is stored (durably). */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * Rewrites the file without ratings received before `before`: a new file is written and
   * fsync'd, then renamed over the old one, so a crash leaves one or the other whole.
   */
  async prune(before: Date): Promise<FeedbackRecord[]> {
    if (this.readOnly) throw new Error(`feedback store ${this.path} is open read-only`);
    return this.io.run('io', async () => {
      const cutoff = before.getTime();
      const removed = this.records.filter((r) => Date.parse(r.createdAt) < cutoff);
      if (removed.length === 0) return [];
      const kept = this.records.filter((r) => Date.parse(r.createdAt) >= cutoff);
      const temp = `${this.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      const text = kept.map((r) => JSON.stringify(r) + '\n').join('');
      await writeFileDurable(temp, text);
      await rename(temp, this.path);
      await fsyncDir(join(this.path, '..'));
      await this.handle.close();
      this.handle = await open(this.path, 'a+');
      this.inode = (await this.handle.stat()).ino;
      this.size = Buffer.byteLength(text);
      this.records.splice(0, this.records.length, ...kept);
      for (const record of removed) this.ids.delete(record.id);
      return removed;
    });
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing.catch(() => undefined);
    await this.io.run('io', () => this.handle.close());
  }

  // ---- writing ----

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.io.run('io', () => this.flushQueue()).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  /** Writes everything queued, one write and one sync per batch. */
  private async flushQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const text = batch.map((p) => JSON.stringify(p.record) + '\n').join('');
      const bytes = Buffer.from(text);
      try {
        if (this.broken) throw this.broken;
        // The file is open for append (O_APPEND): every write lands at its end.
        let written = 0;
        while (written < bytes.length) written += (await this.handle.write(bytes, written)).bytesWritten;
        await this.handle.datasync();
      } catch (error) {
        await this.undoPartialWrite();
        for (const pending of batch) {
          this.inFlight.delete(pending.record.id);
          pending.reject(error);
        }
        continue;
      }
      this.size += bytes.length;
      for (const pending of batch) {
        this.records.push(pending.record);
        this.ids.add(pending.record.id);
        this.inFlight.delete(pending.record.id);
        pending.resolve();
      }
    }
  }

  /** After a failed write, cuts the file back to its last whole line, so later lines stay whole. */
  private async undoPartialWrite(): Promise<void> {
    try {
      await this.handle.truncate(this.size);
      await this.handle.datasync();
    } catch (error) {
      this.broken = new Error(`feedback file ${this.path} could not be repaired after a failed write; reopen the store`, { cause: error });
    }
  }

  // ---- reading ----

  /** Reads the whole file; a writer then cuts off a torn last line. */
  private async load(): Promise<void> {
    this.inode = (await this.handle.stat()).ino;
    await this.readFrom(0);
    if (this.readOnly) return;
    const { size } = await this.handle.stat();
    if (size > this.size) {
      this.truncatedBytes = size - this.size;
      await this.handle.truncate(this.size);
      await this.handle.datasync();
    }
  }

  /** Picks up lines appended by another process; reloads if the file was replaced (pruned). */
  private async refresh(): Promise<void> {
    if (!this.readOnly || this.closed) return;
    await this.io.run('io', async () => {
      let current;
      try {
        current = await stat(this.path);
      } catch {
        return;
      }
      if (current.ino !== this.inode || current.size < this.size) {
        await this.handle.close();
        this.handle = await open(this.path, 'r');
        this.records.length = 0;
        this.ids.clear();
        this.size = 0;
        this.inode = (await this.handle.stat()).ino;
        await this.readFrom(0);
      } else if (current.size > this.size) {
        await this.readFrom(this.size);
      }
    });
  }

  /** Parses whole lines from `offset` on; stops at the last newline (a torn tail is left unread). */
  private async readFrom(offset: number): Promise<void> {
    const buffer = Buffer.alloc(READ_CHUNK);
    let position = offset;
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const chunk = carry.length > 0 ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : Buffer.from(buffer.subarray(0, bytesRead));
      let start = 0;
      for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
        this.ingest(chunk.subarray(start, newline).toString('utf8'));
        this.size += newline + 1 - start;
        start = newline + 1;
      }
      carry = chunk.subarray(start);
    }
  }

  private ingest(line: string): void {
    if (line.trim() === '') return;
    let parsed;
    try {
      parsed = FeedbackRecordSchema.safeParse(JSON.parse(line));
    } catch {
      this.skippedLines++;
      return;
    }
    if (!parsed.success) {
      this.skippedLines++;
      return;
    }
    // The first copy of an id wins (a later one can only come from a retried failed write).
    if (this.ids.has(parsed.data.id)) return;
    this.ids.add(parsed.data.id);
    this.records.push(parsed.data);
  }
}

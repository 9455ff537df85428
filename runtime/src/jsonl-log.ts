/**
 * An append-only JSON-lines file with one writer process and any number of reader processes:
 * the mechanics shared by the embedded stores (stylize events, release decisions).
 *
 * - Group commit: entries appended while a write is in flight go out together in the next
 *   write and share one fdatasync, so appends cost one sync per batch, not one each.
 * - Whole lines only: an append resolves after its line is written and synced; anything after
 *   the last newline is a torn write of an unacknowledged batch, skipped by readers and cut off
 *   when a writer opens. A failed write is cut back to the last whole line.
 * - Readers refresh by reading only the bytes appended since their last read, and reload from
 *   the start when the file was replaced (a rewrite renames a new file over the old one).
 *
 * Hand-written rather than a database for the same reasons as the feedback store
 * (feedback/jsonl-feedback-store.ts): one file, a few rules that are easier to prove here.
 */
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyedSerializer, errorCode, fsyncDir, replaceFileDurable } from './durable-fs';

const READ_CHUNK = 1 << 20;

export interface JsonlLogOptions<T> {
  /** Turns a parsed JSON value into an entry, or undefined to skip the line (counted). */
  parse(value: unknown): T | undefined;
  /** Reads only: `refresh` sees lines other processes append; `append` is refused. */
  readOnly?: boolean;
  /** Called with each entry read from the file (at open and on refresh), in file order. */
  onEntry?(entry: T): void;
  /** Called before a reader reads a replaced file again from its start: forget earlier entries. */
  onReset?(): void;
}

interface Pending<T> {
  entry: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class JsonlLog<T> {
  private queue: Pending<T>[] = [];
  private flushing: Promise<void> | undefined;
  private readonly io = new KeyedSerializer();
  /** Bytes of whole lines read or written: where the next line starts. */
  private size = 0;
  private inode = 0;
  private closed = false;
  private broken: Error | undefined;
  /** Lines that could not be parsed (skipped), for operators. */
  skippedLines = 0;
  /** Bytes of a torn last line cut off when the writer opened. */
  truncatedBytes = 0;

  private constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private handle: FileHandle | undefined,
    private readonly options: JsonlLogOptions<T>,
  ) {}

  /**
   * Opens (a writer creates) the file and reads every entry in it through `onEntry`. A reader
   * may open a file that does not exist yet; it sees the file once a writer creates it.
   */
  static async open<T>(path: string, options: JsonlLogOptions<T>): Promise<JsonlLog<T>> {
    const readOnly = options.readOnly ?? false;
    let handle: FileHandle | undefined;
    if (readOnly) {
      handle = await open(path, 'r').catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw error;
      });
    } else {
      await mkdir(dirname(path), { recursive: true });
      handle = await open(path, 'a+');
    }
    const log = new JsonlLog(path, readOnly, handle, options);
    if (handle) {
      try {
        if (!readOnly) await fsyncDir(dirname(path));
        log.inode = (await handle.stat()).ino;
        await log.readFrom(0);
        if (!readOnly) {
          const { size } = await handle.stat();
          if (size > log.size) {
            log.truncatedBytes = size - log.size;
            await handle.truncate(log.size);
            await handle.datasync();
          }
        }
      } catch (error) {
        // No log to close comes back: the handle is closed here, not left to the garbage collector.
        await handle.close().catch(() => undefined);
        throw error;
      }
    }
    return log;
  }

  /** Appends one entry; resolves once its line is written and synced. */
  append(entry: T): Promise<void> {
    if (this.readOnly) return Promise.reject(new Error(`${this.path} is open read-only`));
    if (this.closed) return Promise.reject(new Error(`${this.path} is closed`));
    if (this.broken) return Promise.reject(this.broken);
    const durable = new Promise<void>((resolve, reject) => this.queue.push({ entry, resolve, reject }));
    this.kick();
    return durable;
  }

  /**
   * Retention: rewrites the file with only the entries `keep` accepts and returns the others.
   * The file is read again under the write lock (so an append that landed a moment ago is
   * judged too, never lost), the kept lines are written to a new file and synced, and that is
   * renamed over the old one, so a crash leaves one or the other whole. Readers notice the new
   * file and read it from its start; appends queued meanwhile land in the new file.
   */
  async retain(keep: (entry: T) => boolean): Promise<T[]> {
    if (this.readOnly) throw new Error(`${this.path} is open read-only`);
    if (this.closed) throw new Error(`${this.path} is closed`);
    return this.io.run('io', async () => {
      const kept: T[] = [];
      const removed: T[] = [];
      await this.scan(0, (entry) => (keep(entry) ? kept : removed).push(entry));
      if (removed.length === 0) return removed;
      const text = kept.map((entry) => JSON.stringify(entry) + '\n').join('');
      await replaceFileDurable(this.path, text);
      await this.handle?.close();
      this.handle = await open(this.path, 'a+');
      this.inode = (await this.handle.stat()).ino;
      this.size = Buffer.byteLength(text);
      this.broken = undefined;
      return removed;
    });
  }

  /** A reader picks up lines appended since its last read (passing each to `onEntry`); a writer has nothing to do. */
  async refresh(): Promise<void> {
    if (!this.readOnly || this.closed) return;
    await this.io.run('io', async () => {
      let current;
      try {
        current = await stat(this.path);
      } catch {
        return;
      }
      if (!this.handle || current.ino !== this.inode || current.size < this.size) {
        await this.handle?.close();
        this.handle = await open(this.path, 'r');
        this.size = 0;
        this.inode = (await this.handle.stat()).ino;
        this.options.onReset?.();
        await this.readFrom(0);
      } else if (current.size > this.size) {
        await this.readFrom(this.size);
      }
    });
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing.catch(() => undefined);
    await this.io.run('io', async () => this.handle?.close());
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.io.run('io', () => this.flushQueue()).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushQueue(): Promise<void> {
    const handle = this.handle as FileHandle;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const bytes = Buffer.from(batch.map((p) => JSON.stringify(p.entry) + '\n').join(''));
      try {
        if (this.broken) throw this.broken;
        // Opened for append (O_APPEND): every write lands at the end.
        let written = 0;
        while (written < bytes.length) written += (await handle.write(bytes, written)).bytesWritten;
        await handle.datasync();
      } catch (error) {
        try {
          await handle.truncate(this.size);
          await handle.datasync();
        } catch (repair) {
          this.broken = new Error(`${this.path} could not be repaired after a failed write; reopen it`, { cause: repair });
        }
        for (const pending of batch) pending.reject(error);
        continue;
      }
      this.size += bytes.length;
      for (const pending of batch) pending.resolve();
    }
  }

  /** Reads whole lines from `offset` on into `onEntry`, advancing `size`; a torn tail (no newline yet) is left unread. */
  private async readFrom(offset: number): Promise<void> {
    this.size += await this.scan(offset, (entry) => this.options.onEntry?.(entry));
  }

  /** Parses whole lines from `offset` on, passing each entry to `sink`; returns the bytes of whole lines read. */
  private async scan(offset: number, sink: (entry: T) => void): Promise<number> {
    const handle = this.handle as FileHandle;
    const buffer = Buffer.alloc(READ_CHUNK);
    let position = offset;
    let whole = 0;
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const chunk = carry.length > 0 ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : Buffer.from(buffer.subarray(0, bytesRead));
      let start = 0;
      for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
        const entry = this.parseLine(chunk.subarray(start, newline).toString('utf8'));
        if (entry !== undefined) sink(entry);
        whole += newline + 1 - start;
        start = newline + 1;
      }
      carry = chunk.subarray(start);
    }
    return whole;
  }

  private parseLine(line: string): T | undefined {
    if (line.trim() === '') return undefined;
    let entry: T | undefined;
    try {
      entry = this.options.parse(JSON.parse(line));
    } catch {
      entry = undefined;
    }
    if (entry === undefined) this.skippedLines++;
    return entry;
  }
}

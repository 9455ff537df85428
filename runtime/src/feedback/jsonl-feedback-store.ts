/**
 * The embedded feedback store: one append-only JSON-lines file, `<dir>/feedback.jsonl`.
 *
 * - Durable before acknowledged: an append resolves only after its line is written and the file
 *   fdatasync'd. Appends that arrive while a sync is in flight are written together and share the
 *   next sync (group commit), so throughput grows with concurrency instead of paying one sync each.
 * - Idempotent: a record whose id is stored, or is being stored, is not written again.
 * - One rating per request: a rating with a new id for a request already rated is written, and
 *   replaces the earlier one in reads (file order decides which is later); the earlier line stays
 *   until retention prunes it, so a late retry of its id is still recognised and ignored.
 * - Crash tolerant: a line is acknowledged only whole, so anything after the last newline is a
 *   torn write of an unacknowledged batch; it is ignored on load and cut off when a writer opens.
 *
 * One process writes (StyleService); others may open the file read-only (the trainer) and see
 * new lines as they are appended. Hand-written rather than a database: the contract is one file,
 * a few dozen lines, and the durability rules above are easier to prove here than to configure.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonlLog } from '../jsonl-log';
import {
  FeedbackRecordSchema,
  FeedbackValidationError,
  matches,
  requestKey,
  statsByVersionOf,
  statsOf,
  type FeedbackQuery,
  type FeedbackRecord,
  type FeedbackStats,
  type FeedbackStore,
  type VersionFeedbackStats,
} from './feedback-store';

export const FEEDBACK_FILE = 'feedback.jsonl';

export interface JsonlFeedbackStoreOptions {
  /** Reads only: sees lines other processes append; append and prune are refused. */
  readOnly?: boolean;
}

/**
 * The ratings in force, one per request, and every feedback id read. A later rating of the same
 * request replaces the earlier one (a person changing their mind, or rating again, counts once);
 * a later copy of a feedback id is a client's retry and changes nothing, even after a re-rating.
 */
class FeedbackIndex {
  private readonly current = new Map<string, FeedbackRecord>();
  readonly ids = new Set<string>();

  /** Current ratings, in the order their lines were written (oldest first). */
  get records(): Iterable<FeedbackRecord> {
    return this.current.values();
  }

  add(record: FeedbackRecord): void {
    if (this.ids.has(record.id)) return;
    this.ids.add(record.id);
    const key = requestKey(record);
    // Delete first so the replacement moves to the end: queries stay oldest first.
    this.current.delete(key);
    this.current.set(key, record);
  }

  clear(): void {
    this.current.clear();
    this.ids.clear();
  }

  remove(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    for (const [key, record] of this.current) if (ids.has(record.id)) this.current.delete(key);
    for (const id of ids) this.ids.delete(id);
  }
}

/**
 * The file mechanics (group commit, whole lines, torn tails, readers following the writer,
 * rewrites) are JsonlLog's; this adds validation, idempotent appends and the queries.
 */
export class JsonlFeedbackStore implements FeedbackStore {
  private readonly inFlight = new Map<string, Promise<void>>();

  private constructor(
    private readonly log: JsonlLog<FeedbackRecord>,
    private readonly index: FeedbackIndex,
  ) {}

  get path(): string {
    return this.log.path;
  }

  get readOnly(): boolean {
    return this.log.readOnly;
  }

  /** Lines that could not be parsed (skipped), for operators. */
  get skippedLines(): number {
    return this.log.skippedLines;
  }

  /** Bytes of a torn last line cut off at open. */
  get truncatedBytes(): number {
    return this.log.truncatedBytes;
  }

  static async open(dir: string, options: JsonlFeedbackStoreOptions = {}): Promise<JsonlFeedbackStore> {
    const path = join(dir, FEEDBACK_FILE);
    const readOnly = options.readOnly ?? false;
    // A reader is opened by a process that needs ratings now (ReleaseService's lazy stats rely
    // on this message while StyleService has not written yet).
    if (readOnly) await access(path).catch(() => Promise.reject(new Error(`feedback file ${path} does not exist`)));
    // The log reads the file while opening, before the store exists: index into one it adopts.
    const index = new FeedbackIndex();
    const log = await JsonlLog.open<FeedbackRecord>(path, {
      readOnly,
      parse: (value) => {
        const parsed = FeedbackRecordSchema.safeParse(value);
        return parsed.success ? parsed.data : undefined;
      },
      onEntry: (record) => index.add(record),
      onReset: () => index.clear(),
    });
    return new JsonlFeedbackStore(log, index);
  }

  append(input: FeedbackRecord): Promise<void> {
    if (this.readOnly) return Promise.reject(new Error(`feedback store ${this.path} is open read-only`));
    const parsed = FeedbackRecordSchema.safeParse(input);
    if (!parsed.success) {
      return Promise.reject(
        new FeedbackValidationError(parsed.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ')),
      );
    }
    const record = parsed.data;
    if (this.index.ids.has(record.id)) return Promise.resolve();
    const pending = this.inFlight.get(record.id);
    if (pending) return pending;
    const durable = this.log.append(record).then(
      () => {
        this.inFlight.delete(record.id);
        this.index.add(record);
      },
      (error: unknown) => {
        this.inFlight.delete(record.id);
        throw error;
      },
    );
    this.inFlight.set(record.id, durable);
    return durable;
  }

  async query(filter: FeedbackQuery = {}): Promise<FeedbackRecord[]> {
    await this.log.refresh();
    return [...this.index.records].filter((record) => matches(record, filter));
  }

  async stats(filter: FeedbackQuery = {}): Promise<FeedbackStats> {
    return statsOf(await this.query(filter));
  }

  async statsByVersion(filter: FeedbackQuery = {}): Promise<VersionFeedbackStats[]> {
    return statsByVersionOf(await this.query(filter));
  }

  /** Whether a record with this id is stored (durably), in force or since replaced by a re-rating. */
  has(id: string): boolean {
    return this.index.ids.has(id);
  }

  /** Rewrites the file without ratings received before `before` (JsonlLog.retain: crash-safe). */
  async prune(before: Date): Promise<FeedbackRecord[]> {
    if (this.readOnly) throw new Error(`feedback store ${this.path} is open read-only`);
    const cutoff = before.getTime();
    const removed = await this.log.retain((record) => Date.parse(record.createdAt) >= cutoff);
    this.index.remove(new Set(removed.map((record) => record.id)));
    return removed;
  }

  /** Waits for queued appends, then closes the file. */
  close(): Promise<void> {
    return this.log.close();
  }
}

/**
 * Feedback: one rating of one stylized result, recorded durably before it is acknowledged.
 * FeedbackStore is what services code against; the embedded JSON-lines store implements it
 * today, and an Elasticsearch-backed one can slot in behind the same calls.
 */
import { z } from 'zod';
import { StyleIdSchema, VERSION_PATTERN } from '../registry/schema';

/** Feedback ids can name files (kept photos), so they are file-name safe. */
export const FEEDBACK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const FeedbackRecordSchema = z.object({
  /** Idempotency key: appending the same id again stores nothing new. */
  id: z.string().regex(FEEDBACK_ID_PATTERN, "ids are 1-128 of letters, digits, '.', '_' and '-'"),
  /** The stylize request rated (its summary's request id): one rating per request counts. May be empty. */
  requestId: z.string().max(200),
  style: StyleIdSchema,
  /** The version that served the result, in its wire form: the registry's number in decimal. */
  version: z.string().regex(VERSION_PATTERN, 'versions are whole numbers from 1, in decimal'),
  rating: z.enum(['good', 'bad']),
  reason: z.string().max(2000).optional(),
  /** The caller's client id (sticky routing); may be empty. */
  clientId: z.string().max(200),
  /** Whether the person consented to the input photo being kept for fine-tuning. */
  consent: z.boolean(),
  /** Where the kept photo lies, present only with consent. */
  photoRef: z.string().min(1).max(1000).optional(),
  /** When the server received the rating (ISO 8601, UTC). */
  createdAt: z.iso.datetime(),
});
export type FeedbackRecord = z.infer<typeof FeedbackRecordSchema>;

export interface FeedbackQuery {
  style?: string;
  version?: string;
  rating?: 'good' | 'bad';
  /** Received at or after. */
  since?: Date;
  /** Received before. */
  until?: Date;
}

export interface FeedbackStats {
  total: number;
  good: number;
  bad: number;
  /** bad / total; 0 when there are no ratings. */
  badRatio: number;
  /** Bad ratings that came with a kept photo (what a fine-tune can train on). */
  badWithPhoto: number;
  /** createdAt of the first and last matching rating. */
  first?: string;
  last?: string;
}

export interface VersionFeedbackStats extends FeedbackStats {
  style: string;
  version: string;
}

export class FeedbackValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedbackValidationError';
  }
}

export interface FeedbackStore {
  /**
   * Records a rating; resolves once it is durable (fsync'd). A record whose id is already stored
   * (a client's retry) is not stored again and resolves as soon as the original is durable.
   * A record with a new id for a request already rated replaces that rating: reads and counts
   * see one rating per request id, the latest (records with an empty request id stand alone).
   */
  append(record: FeedbackRecord): Promise<void>;
  /** Matching ratings in force (one per request), oldest first. */
  query(filter?: FeedbackQuery): Promise<FeedbackRecord[]>;
  /** Counts over the matching ratings. */
  stats(filter?: FeedbackQuery): Promise<FeedbackStats>;
  /** Counts per style version over the matching ratings, ordered by style then version. */
  statsByVersion(filter?: FeedbackQuery): Promise<VersionFeedbackStats[]>;
  /** Deletes ratings received before `before` (retention); resolves with those removed. */
  prune(before: Date): Promise<FeedbackRecord[]>;
  close(): Promise<void>;
}

/** What a rating is one of: its request, or (with no request id) only itself. */
export function requestKey(record: Pick<FeedbackRecord, 'id' | 'requestId'>): string {
  return record.requestId ? `request:${record.requestId}` : `feedback:${record.id}`;
}

/**
 * The ratings in force from records in the order they were stored: the last rating of each
 * request, first copy of each id (later copies are retries), still in stored order.
 */
export function latestPerRequest(records: Iterable<FeedbackRecord>): FeedbackRecord[] {
  const seen = new Set<string>();
  const current = new Map<string, FeedbackRecord>();
  for (const record of records) {
    if (seen.has(record.id)) continue;
    seen.add(record.id);
    const key = requestKey(record);
    current.delete(key);
    current.set(key, record);
  }
  return [...current.values()];
}

export function matches(record: FeedbackRecord, filter: FeedbackQuery): boolean {
  if (filter.style !== undefined && record.style !== filter.style) return false;
  if (filter.version !== undefined && record.version !== filter.version) return false;
  if (filter.rating !== undefined && record.rating !== filter.rating) return false;
  const at = Date.parse(record.createdAt);
  if (filter.since !== undefined && at < filter.since.getTime()) return false;
  if (filter.until !== undefined && at >= filter.until.getTime()) return false;
  return true;
}

export function statsOf(records: Iterable<FeedbackRecord>): FeedbackStats {
  const stats: FeedbackStats = { total: 0, good: 0, bad: 0, badRatio: 0, badWithPhoto: 0 };
  for (const record of records) {
    stats.total++;
    if (record.rating === 'good') stats.good++;
    else {
      stats.bad++;
      if (record.photoRef) stats.badWithPhoto++;
    }
    if (stats.first === undefined || Date.parse(record.createdAt) < Date.parse(stats.first)) stats.first = record.createdAt;
    if (stats.last === undefined || Date.parse(record.createdAt) > Date.parse(stats.last)) stats.last = record.createdAt;
  }
  stats.badRatio = stats.total === 0 ? 0 : stats.bad / stats.total;
  return stats;
}

export function statsByVersionOf(records: Iterable<FeedbackRecord>): VersionFeedbackStats[] {
  const groups = new Map<string, FeedbackRecord[]>();
  for (const record of records) {
    const key = `${record.style}\0${record.version.padStart(9, '0')}`;
    const group = groups.get(key);
    if (group) group.push(record);
    else groups.set(key, [record]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, group]) => ({ style: group[0]!.style, version: group[0]!.version, ...statsOf(group) }));
}

/**
 * FeedbackStore over an Elasticsearch data stream (`<prefix>-feedback`): appends through the
 * bulk writer (the feedback id is the document id, so a retry is a 409, never a second copy).
 *
 * One rating per request: a re-rating is a new document and reads keep only the latest per
 * request id. The document id is not the request id because a data stream only takes op_type
 * create (no overwrite), and because overwriting would let a late retry of an old rating undo
 * the newer one. Counts are therefore made here over the de-duplicated ratings rather than by
 * aggregations, which cannot tell a replaced rating from one in force.
 */
import type { Client } from '@elastic/elasticsearch';
import {
  FeedbackRecordSchema,
  FeedbackValidationError,
  latestPerRequest,
  statsByVersionOf,
  statsOf,
  type FeedbackQuery,
  type FeedbackRecord,
  type FeedbackStats,
  type FeedbackStore,
  type VersionFeedbackStats,
} from '../feedback/feedback-store';
import { BulkWriter, type BulkWriterOptions } from './bulk-writer';
import { boolFilter } from './query';

const PAGE = 1000;

/**
 * The bool filter for a FeedbackQuery (exact terms and a half-open time range). The rating is
 * left out: a request's latest rating decides, so it is filtered after de-duplication. Style and
 * version stay: every rating of one request names the version that served it.
 */
export function feedbackFilter(filter: FeedbackQuery = {}): Record<string, unknown> {
  return boolFilter({ style: filter.style, version: filter.version }, filter.since, filter.until);
}

function toDocument(record: FeedbackRecord): Record<string, unknown> {
  return { '@timestamp': record.createdAt, ...record };
}

function fromDocument(source: Record<string, unknown>): FeedbackRecord {
  const { '@timestamp': _timestamp, ...record } = source;
  return FeedbackRecordSchema.parse(record);
}

export class ElasticsearchFeedbackStore implements FeedbackStore {
  private readonly writer: BulkWriter;

  constructor(
    private readonly client: Client,
    private readonly stream: string,
    writerOptions: BulkWriterOptions = {},
  ) {
    this.writer = new BulkWriter(client, stream, writerOptions);
  }

  async append(record: FeedbackRecord): Promise<void> {
    const parsed = FeedbackRecordSchema.safeParse(record);
    if (!parsed.success) throw new FeedbackValidationError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    await this.writer.write(parsed.data.id, toDocument(parsed.data));
  }

  async query(filter: FeedbackQuery = {}): Promise<FeedbackRecord[]> {
    const current = latestPerRequest(await this.stored(filter));
    return filter.rating === undefined ? current : current.filter((record) => record.rating === filter.rating);
  }

  async stats(filter: FeedbackQuery = {}): Promise<FeedbackStats> {
    return statsOf(await this.query(filter));
  }

  async statsByVersion(filter: FeedbackQuery = {}): Promise<VersionFeedbackStats[]> {
    return statsByVersionOf(await this.query(filter));
  }

  /** Every stored document matching the filter (replaced ratings too), oldest first. */
  private async stored(filter: FeedbackQuery): Promise<FeedbackRecord[]> {
    const records: FeedbackRecord[] = [];
    let after: (string | number)[] | undefined;
    for (;;) {
      const response = await this.client.search<Record<string, unknown>>({
        index: this.stream,
        query: feedbackFilter(filter),
        sort: [{ '@timestamp': 'asc' }, { id: 'asc' }],
        size: PAGE,
        ...(after ? { search_after: after } : {}),
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      const hits = response.hits.hits;
      for (const hit of hits) if (hit._source) records.push(fromDocument(hit._source));
      if (hits.length < PAGE) return records;
      after = hits.at(-1)?.sort as (string | number)[];
    }
  }

  async prune(before: Date): Promise<FeedbackRecord[]> {
    // Replaced ratings go too (with their kept photos), as in the embedded store.
    const removed = await this.stored({ until: before });
    if (removed.length === 0) return removed;
    await this.client.deleteByQuery({
      index: this.stream,
      query: feedbackFilter({ until: before }),
      refresh: true,
      conflicts: 'proceed',
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    return removed;
  }

  /** Waits until every accepted rating is acknowledged. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}

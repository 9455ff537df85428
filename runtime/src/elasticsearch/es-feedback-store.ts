/**
 * FeedbackStore over an Elasticsearch data stream (`<prefix>-feedback`): appends through the
 * bulk writer (the feedback id is the document id), reads with searches and aggregations, so
 * the fine-tune trigger and the canary analysis count ratings in the cluster, not in memory.
 */
import type { Client } from '@elastic/elasticsearch';
import {
  FeedbackRecordSchema,
  FeedbackValidationError,
  type FeedbackQuery,
  type FeedbackRecord,
  type FeedbackStats,
  type FeedbackStore,
  type VersionFeedbackStats,
} from '../feedback/feedback-store';
import { BulkWriter, type BulkWriterOptions } from './bulk-writer';
import { boolFilter } from './query';

const PAGE = 1000;

/** The bool filter for a FeedbackQuery (exact terms and a half-open time range). */
export function feedbackFilter(filter: FeedbackQuery = {}): Record<string, unknown> {
  return boolFilter({ style: filter.style, version: filter.version, rating: filter.rating }, filter.since, filter.until);
}

/** The aggregations FeedbackStats are read from. */
export const FEEDBACK_STATS_AGGS = {
  ratings: { terms: { field: 'rating', size: 2 } },
  bad_with_photo: { filter: { bool: { filter: [{ term: { rating: 'bad' } }, { exists: { field: 'photoRef' } }] } } },
  first: { min: { field: '@timestamp' } },
  last: { max: { field: '@timestamp' } },
};

interface StatsAggs {
  ratings: { buckets: { key: string; doc_count: number }[] };
  bad_with_photo: { doc_count: number };
  first: { value: number | null; value_as_string?: string };
  last: { value: number | null; value_as_string?: string };
}

function statsFrom(total: number, aggs: StatsAggs): FeedbackStats {
  const count = (rating: string) => aggs.ratings.buckets.find((b) => b.key === rating)?.doc_count ?? 0;
  const good = count('good');
  const bad = count('bad');
  const iso = (agg: StatsAggs['first']) => (agg.value === null ? undefined : new Date(agg.value).toISOString());
  const first = iso(aggs.first);
  const last = iso(aggs.last);
  return {
    total,
    good,
    bad,
    badRatio: total === 0 ? 0 : bad / total,
    badWithPhoto: aggs.bad_with_photo.doc_count,
    ...(first ? { first } : {}),
    ...(last ? { last } : {}),
  };
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

  async stats(filter: FeedbackQuery = {}): Promise<FeedbackStats> {
    const response = await this.client.search({
      index: this.stream,
      size: 0,
      track_total_hits: true,
      query: feedbackFilter(filter),
      aggs: FEEDBACK_STATS_AGGS,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    const total = typeof response.hits.total === 'number' ? response.hits.total : (response.hits.total?.value ?? 0);
    return statsFrom(total, response.aggregations as unknown as StatsAggs);
  }

  async statsByVersion(filter: FeedbackQuery = {}): Promise<VersionFeedbackStats[]> {
    const out: VersionFeedbackStats[] = [];
    let after: Record<string, string> | undefined;
    for (;;) {
      const response = await this.client.search({
        index: this.stream,
        size: 0,
        query: feedbackFilter(filter),
        aggs: {
          versions: {
            composite: {
              size: 500,
              sources: [{ style: { terms: { field: 'style' } } }, { version: { terms: { field: 'version' } } }],
              ...(after ? { after } : {}),
            },
            aggs: FEEDBACK_STATS_AGGS,
          },
        },
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      const versions = (response.aggregations as unknown as
        | { versions: { after_key?: Record<string, string>; buckets: ({ key: { style: string; version: string }; doc_count: number } & StatsAggs)[] } }
        | undefined)?.versions;
      for (const bucket of versions?.buckets ?? []) {
        out.push({ style: bucket.key.style, version: bucket.key.version, ...statsFrom(bucket.doc_count, bucket) });
      }
      if (!versions?.after_key || (versions.buckets.length ?? 0) === 0) break;
      after = versions.after_key;
    }
    // Versions are decimal strings: order them as numbers, as the embedded store does.
    return out.sort((a, b) => (a.style < b.style ? -1 : a.style > b.style ? 1 : Number(a.version) - Number(b.version)));
  }

  async prune(before: Date): Promise<FeedbackRecord[]> {
    const removed = await this.query({ until: before });
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

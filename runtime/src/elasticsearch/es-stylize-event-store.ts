/**
 * StylizeEventStore over an Elasticsearch data stream (`<prefix>-stylize-events`): the request
 * id is the document id; stats come from a terms aggregation on the gRPC status and a
 * percentiles aggregation on latency (Elasticsearch's TDigest: close to, not always exactly,
 * the embedded store's nearest-rank p95).
 */
import type { Client } from '@elastic/elasticsearch';
import {
  StylizeEventSchema,
  isServerFault,
  type StylizeEvent,
  type StylizeEventFilter,
  type StylizeEventStore,
  type StylizeStats,
} from '../serving/stylize-event-store';
import { BulkWriter, type BulkWriterOptions } from './bulk-writer';
import { boolFilter } from './query';

export function stylizeEventQuery(filter: StylizeEventFilter): Record<string, unknown> {
  return boolFilter({ style: filter.style, version: filter.version }, filter.since, filter.until);
}

export const STYLIZE_STATS_AGGS = {
  codes: { terms: { field: 'code', size: 32 } },
  latency: { percentiles: { field: 'latencyMs', percents: [95] } },
};

export class ElasticsearchStylizeEventStore implements StylizeEventStore {
  private readonly writer: BulkWriter;

  constructor(
    private readonly client: Client,
    private readonly stream: string,
    writerOptions: BulkWriterOptions = {},
  ) {
    this.writer = new BulkWriter(client, stream, writerOptions);
  }

  async append(event: StylizeEvent): Promise<void> {
    const parsed = StylizeEventSchema.parse(event);
    await this.writer.write(parsed.id, { '@timestamp': parsed.startedAt, ...parsed });
  }

  async stats(filter: StylizeEventFilter): Promise<StylizeStats> {
    const response = await this.client.search({
      index: this.stream,
      size: 0,
      track_total_hits: true,
      query: stylizeEventQuery(filter),
      aggs: STYLIZE_STATS_AGGS,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    const aggs = response.aggregations as unknown as
      | { codes: { buckets: { key: string; doc_count: number }[] }; latency: { values: Record<string, number | null> } }
      | undefined;
    const requests = typeof response.hits.total === 'number' ? response.hits.total : (response.hits.total?.value ?? 0);
    const byCode: Record<string, number> = {};
    let errors = 0;
    for (const bucket of aggs?.codes.buckets ?? []) {
      byCode[bucket.key] = bucket.doc_count;
      if (isServerFault(bucket.key)) errors += bucket.doc_count;
    }
    const p95 = aggs?.latency.values['95.0'] ?? null;
    return { requests, errors, byCode, p95LatencyMs: requests === 0 || p95 === null ? 0 : p95 };
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}

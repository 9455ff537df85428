/**
 * What the platform creates in Elasticsearch at start, idempotently (PUT replaces): one
 * lifecycle policy and one index template per data stream. Feedback and stylize events are
 * data streams (append-only, time-based, rolled over and deleted by ILM); each document's
 * `_id` is its feedback id or request id, written with op_type create, so a retried write is
 * refused as a conflict instead of stored twice.
 */
import type { Client } from '@elastic/elasticsearch';
import { elasticsearchNames } from './client';

export interface ElasticsearchSetupOptions {
  prefix: string;
  /** Days feedback is kept (NST_FEEDBACK_RETENTION_DAYS). */
  feedbackRetentionDays: number;
  /** Days stylize events are kept. */
  eventRetentionDays?: number;
}

export const FEEDBACK_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    '@timestamp': { type: 'date' },
    id: { type: 'keyword' },
    requestId: { type: 'keyword' },
    style: { type: 'keyword' },
    version: { type: 'keyword' },
    rating: { type: 'keyword' },
    // Free text a person wrote: searchable, never aggregated.
    reason: { type: 'text' },
    clientId: { type: 'keyword' },
    consent: { type: 'boolean' },
    photoRef: { type: 'keyword' },
    createdAt: { type: 'date' },
  },
} as const;

export const STYLIZE_EVENT_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    '@timestamp': { type: 'date' },
    id: { type: 'keyword' },
    style: { type: 'keyword' },
    version: { type: 'keyword' },
    code: { type: 'keyword' },
    latencyMs: { type: 'float' },
    startedAt: { type: 'date' },
    clientId: { type: 'keyword' },
  },
} as const;

function lifecyclePolicy(deleteAfterDays: number, rolloverMaxAge: string) {
  return {
    phases: {
      hot: { actions: { rollover: { max_age: rolloverMaxAge, max_primary_shard_size: '50gb' } } },
      delete: { min_age: `${deleteAfterDays}d`, actions: { delete: {} } },
    },
  };
}

/** Creates or updates the lifecycle policies and index templates. */
export async function setupElasticsearch(client: Client, options: ElasticsearchSetupOptions): Promise<void> {
  const names = elasticsearchNames(options.prefix);
  const streams = [
    { name: names.feedback, mappings: FEEDBACK_MAPPINGS, policy: lifecyclePolicy(options.feedbackRetentionDays, '7d') },
    { name: names.stylizeEvents, mappings: STYLIZE_EVENT_MAPPINGS, policy: lifecyclePolicy(options.eventRetentionDays ?? 30, '1d') },
  ];
  for (const stream of streams) {
    await client.ilm.putLifecycle({ name: stream.name, policy: stream.policy });
    await client.indices.putIndexTemplate({
      name: stream.name,
      index_patterns: [`${stream.name}*`],
      data_stream: {},
      // Above the built-in logs-*-* / metrics-*-* templates (priority 100 and 200).
      priority: 500,
      template: {
        settings: { 'index.lifecycle.name': stream.name },
        mappings: stream.mappings as never,
      },
      _meta: { managed_by: 'nst-platform', description: `${stream.name}: written by the platform through @elastic/elasticsearch` },
    });
  }
}

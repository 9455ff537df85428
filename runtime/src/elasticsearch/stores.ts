/**
 * The one place a service gets its feedback store and stylize event store: Elasticsearch when
 * ELASTICSEARCH_URL is set (templates and lifecycle policies made first), the embedded JSON-lines
 * stores otherwise. StyleService writes through them; the fine-tune trigger (trainer) and the
 * canary analysis (mesh) read through the same interfaces.
 */
import type { StoreConfig } from '../store-settings';
import type { FeedbackStore } from '../feedback/feedback-store';
import { JsonlFeedbackStore } from '../feedback/jsonl-feedback-store';
import { JsonlStylizeEventStore } from '../serving/jsonl-stylize-event-store';
import type { StylizeEventStore } from '../serving/stylize-event-store';
import type { BulkWriterOptions } from './bulk-writer';
import { createElasticsearchClient, elasticsearchNames, type ElasticsearchSettings } from './client';
import { ElasticsearchFeedbackStore } from './es-feedback-store';
import { ElasticsearchStylizeEventStore } from './es-stylize-event-store';
import { setupElasticsearch } from './setup';

export type StoreSettings = ElasticsearchSettings & Pick<StoreConfig, 'feedbackDir' | 'eventsDir' | 'feedbackRetentionDays' | 'stylizeEventRetentionDays'>;

export interface OpenStoreOptions {
  /** Reads only (the trainer, the analysis): the embedded store refuses appends; nothing is set up in Elasticsearch. */
  readOnly?: boolean;
  writer?: BulkWriterOptions;
}

/** Where feedback and events are kept, for the start-up log line. */
export function storeBackend(settings: Pick<StoreConfig, 'elasticsearchUrl'>): string {
  return settings.elasticsearchUrl ? `Elasticsearch at ${new URL(settings.elasticsearchUrl).origin}` : 'the embedded JSON-lines stores';
}

/** The data streams with their lifecycle (retention) policies; the writing process sets them up. */
function setupStreams(client: Parameters<typeof setupElasticsearch>[0], settings: StoreSettings): Promise<void> {
  return setupElasticsearch(client, {
    prefix: settings.elasticsearchIndexPrefix,
    feedbackRetentionDays: settings.feedbackRetentionDays,
    eventRetentionDays: settings.stylizeEventRetentionDays,
  });
}

export async function openFeedbackStore(settings: StoreSettings, options: OpenStoreOptions = {}): Promise<FeedbackStore> {
  if (!settings.elasticsearchUrl) return JsonlFeedbackStore.open(settings.feedbackDir, { readOnly: options.readOnly ?? false });
  const client = createElasticsearchClient(settings);
  if (!options.readOnly) await setupStreams(client, settings);
  const store = new ElasticsearchFeedbackStore(client, elasticsearchNames(settings.elasticsearchIndexPrefix).feedback, options.writer);
  return closingClient(store, () => client.close());
}

export async function openStylizeEventStore(settings: StoreSettings, options: OpenStoreOptions = {}): Promise<StylizeEventStore> {
  if (!settings.elasticsearchUrl) return JsonlStylizeEventStore.open(settings.eventsDir, { readOnly: options.readOnly ?? false });
  const client = createElasticsearchClient(settings);
  if (!options.readOnly) await setupStreams(client, settings);
  const store = new ElasticsearchStylizeEventStore(client, elasticsearchNames(settings.elasticsearchIndexPrefix).stylizeEvents, options.writer);
  return closingClient(store, () => client.close());
}

/** The store's close also closes the client it owns. */
function closingClient<S extends { close(): Promise<void> }>(store: S, closeClient: () => Promise<void>): S {
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await closeClient();
  };
  return store;
}

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
  /** Told of each failed attempt to reach Elasticsearch before the store is ready (for a log line). */
  onUnreachable?: (error: unknown, retryInMs: number) => void;
  /** First wait between attempts, doubled up to 15 s (default 500 ms). */
  retryMs?: number;
}

/**
 * A store and when it can serve: the embedded stores at once; Elasticsearch once it answered
 * (a writer: once its lifecycle policies and templates are in place, so no document lands in
 * a data stream made without them). Opening never fails because Elasticsearch is down: the
 * service starts, reports NOT_SERVING until `ready`, and keeps trying.
 */
export type ReadyStore<S> = S & {
  /** Resolves once the backend answered; never rejects (it retries until the store closes). */
  readonly ready: Promise<void>;
};

const MAX_RETRY_MS = 15_000;

/**
 * Runs `attempt` until it succeeds, waiting 0.5 s, 1 s, 2 s... (at most 15 s) between tries,
 * or until `signal` aborts (then the promise stays pending: nothing waits on a closed store).
 */
function untilAnswered(attempt: () => Promise<unknown>, signal: AbortSignal, options: OpenStoreOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    let waitMs = options.retryMs ?? 500;
    const tryOnce = (): void => {
      if (signal.aborted) return;
      attempt().then(
        () => resolve(),
        (error: unknown) => {
          if (signal.aborted) return;
          options.onUnreachable?.(error, waitMs);
          setTimeout(tryOnce, waitMs).unref();
          waitMs = Math.min(waitMs * 2, MAX_RETRY_MS);
        },
      );
    };
    tryOnce();
  });
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

export async function openFeedbackStore(settings: StoreSettings, options: OpenStoreOptions = {}): Promise<ReadyStore<FeedbackStore>> {
  if (!settings.elasticsearchUrl) {
    return withReady(await JsonlFeedbackStore.open(settings.feedbackDir, { readOnly: options.readOnly ?? false }), Promise.resolve());
  }
  const client = createElasticsearchClient(settings);
  const stopTrying = new AbortController();
  const stream = elasticsearchNames(settings.elasticsearchIndexPrefix).feedback;
  const ready = untilAnswered(() => (options.readOnly ? answers(client, stream) : setupStreams(client, settings)), stopTrying.signal, options);
  const store = new ElasticsearchFeedbackStore(client, stream, { ...options.writer, ready });
  return withReady(closingClient(store, stopTrying, () => client.close()), ready);
}

export async function openStylizeEventStore(settings: StoreSettings, options: OpenStoreOptions = {}): Promise<ReadyStore<StylizeEventStore>> {
  if (!settings.elasticsearchUrl) {
    return withReady(await JsonlStylizeEventStore.open(settings.eventsDir, { readOnly: options.readOnly ?? false }), Promise.resolve());
  }
  const client = createElasticsearchClient(settings);
  const stopTrying = new AbortController();
  const stream = elasticsearchNames(settings.elasticsearchIndexPrefix).stylizeEvents;
  const ready = untilAnswered(() => (options.readOnly ? answers(client, stream) : setupStreams(client, settings)), stopTrying.signal, options);
  const store = new ElasticsearchStylizeEventStore(client, stream, { ...options.writer, ready });
  return withReady(closingClient(store, stopTrying, () => client.close()), ready);
}

/**
 * A reader's first contact: an empty search of its own data stream, which needs no more than
 * the `read` privilege it has anyway (a ping would need the cluster's `monitor`), and answers
 * before the stream exists.
 */
async function answers(client: ReturnType<typeof createElasticsearchClient>, stream: string): Promise<void> {
  await client.search({ index: stream, size: 0, ignore_unavailable: true, allow_no_indices: true });
}

function withReady<S extends object>(store: S, ready: Promise<void>): ReadyStore<S> {
  return Object.assign(store, { ready });
}

/** The store's close also stops trying to reach Elasticsearch and closes the client it owns. */
function closingClient<S extends { close(): Promise<void> }>(store: S, stopTrying: AbortController, closeClient: () => Promise<void>): S {
  const close = store.close.bind(store);
  store.close = async () => {
    stopTrying.abort();
    await close();
    await closeClient();
  };
  return store;
}

/**
 * The Elasticsearch client from the platform's settings (ELASTICSEARCH_URL with an API key or
 * user and password), and the names of what the platform keeps there.
 */
import { Client } from '@elastic/elasticsearch';
import type { StoreConfig } from '../store-settings';

export type ElasticsearchSettings = Pick<
  StoreConfig,
  'elasticsearchUrl' | 'elasticsearchApiKey' | 'elasticsearchUsername' | 'elasticsearchPassword' | 'elasticsearchIndexPrefix'
>;

export function createElasticsearchClient(settings: ElasticsearchSettings): Client {
  if (!settings.elasticsearchUrl) throw new Error('ELASTICSEARCH_URL is not set');
  const auth = settings.elasticsearchApiKey
    ? { apiKey: settings.elasticsearchApiKey }
    : settings.elasticsearchUsername
      ? { username: settings.elasticsearchUsername, password: settings.elasticsearchPassword ?? '' }
      : undefined;
  return new Client({
    node: settings.elasticsearchUrl,
    ...(auth ? { auth } : {}),
    // The bulk writer retries per document with back-off; the client only retries dead connections.
    maxRetries: 2,
    requestTimeout: 30_000,
  });
}

/** Data streams (and the templates and lifecycle policies of the same name). */
export function elasticsearchNames(prefix: string): { feedback: string; stylizeEvents: string } {
  return { feedback: `${prefix}-feedback`, stylizeEvents: `${prefix}-stylize-events` };
}

/**
 * The settings of the stores the services share through their interfaces (feedback and
 * serving events): where the embedded JSON-lines stores live, how long records are kept, and
 * the Elasticsearch cluster that replaces them when ELASTICSEARCH_URL is set. StyleService
 * writes them; TrainerService and ReleaseService read them.
 */
import { z } from 'zod';
import { setting, settingsGroup, text, underDataDir, wholeNumber, type SettingsValues } from './settings';

export const STORE_SETTINGS = settingsGroup('The feedback and serving-event stores (`runtime/src/store-settings.ts`)', {
  feedbackDir: setting({
    env: 'NST_FEEDBACK_DIR',
    ...underDataDir('feedback'),
    schema: text,
    description: 'Embedded feedback store (append-only JSON lines).',
  }),
  eventsDir: setting({
    env: 'NST_EVENTS_DIR',
    ...underDataDir('events'),
    schema: text,
    description: 'Embedded serving-event store: one JSON line per stylize call (version, gRPC status, latency), read by the release analysis.',
  }),
  feedbackRetentionDays: setting({
    env: 'NST_FEEDBACK_RETENTION_DAYS',
    default: '30',
    schema: wholeNumber(1, 36_500),
    description: 'Days feedback and kept photos are retained.',
  }),
  stylizeEventRetentionDays: setting({
    env: 'NST_STYLIZE_EVENT_RETENTION_DAYS',
    default: '30',
    schema: wholeNumber(1, 36_500),
    description: 'Days serving events (one per stylize call, read by the canary analysis) are retained.',
  }),
  elasticsearchUrl: setting({
    env: 'ELASTICSEARCH_URL',
    defaultDoc: '(none: feedback and serving events stay in the embedded stores)',
    schema: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, for example https://es.example.com:9200' }),
    description: 'Elasticsearch cluster that stores feedback and stylize events (indices, template and lifecycle policy made at start).',
  }),
  elasticsearchApiKey: setting({
    env: 'ELASTICSEARCH_API_KEY',
    defaultDoc: '(none)',
    schema: text,
    description: 'Elasticsearch API key (the encoded form); never logged. Or use the username and password below.',
  }),
  elasticsearchUsername: setting({
    env: 'ELASTICSEARCH_USERNAME',
    defaultDoc: '(none)',
    schema: text,
    description: 'Elasticsearch basic-auth user, with ELASTICSEARCH_PASSWORD.',
  }),
  elasticsearchPassword: setting({
    env: 'ELASTICSEARCH_PASSWORD',
    defaultDoc: '(none)',
    schema: text,
    description: 'Elasticsearch basic-auth password; never logged.',
  }),
  elasticsearchIndexPrefix: setting({
    env: 'NST_ES_INDEX_PREFIX',
    default: 'nst',
    schema: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, 'must be lower-case letters, digits, - or _ (an index name prefix)'),
    description: 'Prefix of the Elasticsearch indices, templates and lifecycle policy (`<prefix>-feedback`, `<prefix>-stylize-events`).',
  }),
});

/** Where the feedback and serving events are kept, and for how long. */
export type StoreConfig = SettingsValues<typeof STORE_SETTINGS.table>;

/**
 * The settings every process of the platform reads (the services, the gateway, `npm start` and
 * the CLI): the data folder, where each service listens, the admin token, logging, and the
 * message sizes the gateway, the services and Envoy must agree on. Each service adds its own
 * group (its package's config.ts) and the stores theirs (store-settings.ts); see settings.ts
 * for how they are declared and read.
 */
import { z } from 'zod';
import { address, loadSettings, setting, settingsGroup, text, underDataDir, wholeNumber, type LoadSettingsOptions, type SettingsValues } from './settings';
import { STORE_SETTINGS, type StoreConfig } from './store-settings';

export * from './settings';
export * from './store-settings';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `json`: ECS JSON lines (what containers and Elasticsearch read); `pretty`: short human lines for a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const MIB = 1024 * 1024;
const KIB = 1024;

export const CORE_SETTINGS = settingsGroup('Every service and the CLI (`runtime/src/config.ts`)', {
  dataDir: setting({
    env: 'NST_DATA_DIR',
    default: '.data',
    defaultDoc: '`.data` (under the working directory)',
    path: true,
    schema: text,
    description: 'Root folder of all durable state (registry, feedback, jobs, kept photos, releases); each part has one owner.',
  }),
  registryDir: setting({
    env: 'NST_REGISTRY_DIR',
    ...underDataDir('registry'),
    schema: text,
    description: 'Model registry: styles and their immutable numbered versions. TrainerService owns it; `npm start` seeds it, the gateway reads thumbnails from it when it is on the same machine.',
  }),
  styleAddr: setting({
    env: 'NST_STYLE_ADDR',
    default: '127.0.0.1:50051',
    schema: address,
    description: 'StyleService (inference) gRPC address: where it listens and where clients dial.',
  }),
  trainerAddr: setting({
    env: 'NST_TRAINER_ADDR',
    default: '127.0.0.1:50052',
    schema: address,
    description: 'TrainerService gRPC address.',
  }),
  releaseAddr: setting({
    env: 'NST_RELEASE_ADDR',
    default: '127.0.0.1:50053',
    schema: address,
    description: 'ReleaseService gRPC address.',
  }),
  maxUploadBytes: setting({
    env: 'NST_MAX_UPLOAD_BYTES',
    default: String(32 * MIB),
    defaultDoc: '33554432 (32 MiB)',
    schema: wholeNumber(1),
    description: 'Largest accepted photo upload, in bytes.',
  }),
  maxPixels: setting({
    env: 'NST_MAX_PIXELS',
    default: String(50_000_000),
    defaultDoc: '50000000 (50 MP)',
    schema: wholeNumber(1),
    description: 'Largest accepted image area (width x height), checked before decoding.',
  }),
  chunkBytes: setting({
    env: 'NST_CHUNK_BYTES',
    default: String(256 * KIB),
    defaultDoc: '262144 (256 KiB)',
    schema: wholeNumber(1024, 4 * MIB - 64 * KIB),
    description: 'Size of streamed image and model chunks, in bytes (stays below the 4 MiB gRPC message limit).',
  }),
  drainSeconds: setting({
    env: 'NST_DRAIN_SECONDS',
    default: '25',
    schema: wholeNumber(0, 3600),
    description:
      "On SIGTERM a service turns NOT_SERVING and lets calls in flight (a StylizeImage stream, an upload) finish for up to this many seconds before it cuts them. In Kubernetes, Istio's terminationDrainDuration must be at least this and terminationGracePeriodSeconds at least the two together (k8s/README.md).",
  }),
  adminToken: setting({
    env: 'NST_ADMIN_TOKEN',
    defaultDoc: '(none: `npm start` generates one into `<NST_DATA_DIR>/admin-token`, mode 0600)',
    schema: text,
    description: 'Bearer token for admin calls (training, releases); never logged.',
  }),
  logLevel: setting({
    env: 'NST_LOG_LEVEL',
    default: 'info',
    schema: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
    description: 'Least severe log level written.',
  }),
  logFormat: setting({
    env: 'NST_LOG_FORMAT',
    default: ({ stdoutIsTTY }) => (stdoutIsTTY ? 'pretty' : 'json'),
    defaultDoc: '`pretty` when standard output is a terminal, else `json`',
    schema: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }),
    description:
      'Log lines: `json` writes ECS JSON (for containers, Elasticsearch and Kibana), `pretty` short human lines prefixed by the service name. `npm start` passes its own choice to the services.',
  }),
});

/** The settings every process reads. */
export type CoreConfig = SettingsValues<typeof CORE_SETTINGS.table>;
export type LoadConfigOptions = LoadSettingsOptions;

/** Reads and validates the core settings; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): CoreConfig {
  return loadSettings([CORE_SETTINGS], env, options);
}

/** Reads and validates the core and the store settings (what a tool reading the stores needs). */
export function loadStoreConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): CoreConfig & StoreConfig {
  return loadSettings([CORE_SETTINGS, STORE_SETTINGS], env, options);
}

/**
 * The platform's settings: every one is an environment variable with an embedded default,
 * parsed and validated once at start-up. The table below is the single source of truth: the
 * typed config, the error messages and the documentation (configDocs) all come from it, so the
 * README cannot drift from the code.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repository's starter styles, found from this file's location so cwd does not matter. */
export const DEFAULT_STARTER_DIR = fileURLToPath(new URL('../../trainer/starter-styles', import.meta.url));

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `json`: ECS JSON lines (what containers and Elasticsearch read); `pretty`: short human lines for a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const MIB = 1024 * 1024;
const KIB = 1024;

/** Where relative paths resolve, and what defaults derive from. */
interface Context {
  cwd: string;
  /** The already parsed data folder, for defaults below it. */
  dataDir?: string;
  /** Whether standard output is a terminal (the log format's default). */
  stdoutIsTTY: boolean;
}

// Each schema parses the raw (trimmed, non-empty) string of the variable.
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]*\.?[0-9]+$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

// host:port, with IPv6 hosts in brackets; what @grpc/grpc-js accepts as a target.
const address = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$/, 'must be host:port (for example 127.0.0.1:50051)')
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

const text = z.string().min(1);
const boolean = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true');
// Canary ladder: ascending whole percentages ending at 100 (promotion).
const ladder = z
  .string()
  .regex(/^\s*[0-9]+(\s*,\s*[0-9]+)*\s*$/, 'must be comma-separated whole percentages, for example 10,25,50,100')
  .transform((value) => value.split(',').map((item) => Number(item.trim())))
  .refine((steps) => steps.every((step) => step >= 1 && step <= 100), 'every step must be from 1 to 100')
  .refine((steps) => steps.every((step, i) => i === 0 || step > (steps[i - 1] as number)), 'steps must be ascending')
  .refine((steps) => steps.at(-1) === 100, 'the last step must be 100 (promotion)');
const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

interface Setting<S extends z.ZodType<unknown, string>> {
  env: string;
  description: string;
  schema: S;
  /** The raw default, or none for optional settings (then the value is undefined). */
  default?: string | ((context: Context) => string);
  /** How the default reads in the docs, when it is derived. */
  defaultDoc?: string;
  /** Paths resolve against cwd. */
  path?: boolean;
}

// Keeps each spec's own type, so Config knows which settings have defaults.
function setting<T extends Setting<z.ZodType<unknown, string>>>(spec: T): T {
  return spec;
}

const SETTINGS = {
  dataDir: setting({
    env: 'NST_DATA_DIR',
    default: '.data',
    defaultDoc: '`.data` (under the working directory)',
    path: true,
    schema: text,
    description: 'Root folder of all durable state (registry, feedback, jobs, kept photos, releases).',
  }),
  registryDir: setting({
    env: 'NST_REGISTRY_DIR',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'registry'),
    defaultDoc: '`<NST_DATA_DIR>/registry`',
    path: true,
    schema: text,
    description: 'Model registry: styles and their immutable numbered versions.',
  }),
  starterDir: setting({
    env: 'NST_STARTER_DIR',
    default: DEFAULT_STARTER_DIR,
    defaultDoc: "the repository's `trainer/starter-styles`",
    path: true,
    schema: text,
    description: 'Read-only seed of starter styles, copied into the registry when it lacks them.',
  }),
  feedbackDir: setting({
    env: 'NST_FEEDBACK_DIR',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'feedback'),
    defaultDoc: '`<NST_DATA_DIR>/feedback`',
    path: true,
    schema: text,
    description: 'Embedded feedback store (append-only JSON lines).',
  }),
  keptPhotosDir: setting({
    env: 'NST_KEPT_PHOTOS_DIR',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'kept-photos'),
    defaultDoc: '`<NST_DATA_DIR>/kept-photos`',
    path: true,
    schema: text,
    description: 'Input photos kept, with consent, for fine-tuning on bad ratings.',
  }),
  jobsDir: setting({
    env: 'NST_JOBS_DIR',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'jobs'),
    defaultDoc: '`<NST_DATA_DIR>/jobs`',
    path: true,
    schema: text,
    description: 'Training and fine-tuning jobs: state, checkpoints, previews.',
  }),
  releasesDir: setting({
    env: 'NST_RELEASES_DIR',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'releases'),
    defaultDoc: '`<NST_DATA_DIR>/releases`',
    path: true,
    schema: text,
    description: 'Release state: stable and canary version and weight per style.',
  }),
  modelCacheDir: setting({
    env: 'NST_MODEL_CACHE_DIR',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'style', 'model-cache'),
    defaultDoc: '`<NST_DATA_DIR>/style/model-cache`',
    path: true,
    schema: text,
    description:
      "StyleService's own cache of the models it fetches from TrainerService (checked against their sha256 on every read), and the last style catalogue, so cached styles keep serving while TrainerService is away.",
  }),
  modelCacheMib: setting({
    env: 'NST_MODEL_CACHE_MIB',
    default: '256',
    schema: wholeNumber(1, 1_048_576),
    description:
      'MiB of models StyleService keeps in its model cache; the least recently used are deleted beyond it (a starter model is about 1.7 MiB).',
  }),
  routingStateFile: setting({
    env: 'NST_ROUTING_STATE_FILE',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'style', 'last-rollouts.json'),
    defaultDoc: '`<NST_DATA_DIR>/style/last-rollouts.json`',
    path: true,
    schema: text,
    description:
      "StyleService's copy of the last rollout state ReleaseService streamed, so routing survives a restart while ReleaseService is away.",
  }),
  photosDir: setting({
    env: 'NST_PHOTOS_DIR',
    defaultDoc: "(none: the trainer's starter photos)",
    path: true,
    schema: text,
    description: 'Folder of training photographs (jpg, png, webp).',
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
  gatewayHost: setting({
    env: 'NST_GATEWAY_HOST',
    default: 'localhost',
    schema: text,
    description: 'Interface the HTTP gateway listens on (`0.0.0.0` to expose it).',
  }),
  gatewayPort: setting({
    env: 'NST_GATEWAY_PORT',
    default: '8080',
    schema: wholeNumber(0, 65535),
    description: 'Port of the HTTP gateway (web app, gRPC-Web, health, metrics); 0 picks a free one.',
  }),
  gatewayCorsOrigins: setting({
    env: 'NST_GATEWAY_CORS_ORIGINS',
    default: 'http://localhost:8080,http://127.0.0.1:8080,http://localhost:5173',
    schema: commaList,
    description: 'Comma-separated browser origins allowed by CORS; `*` allows any.',
  }),
  gatewayRateLimit: setting({
    env: 'NST_GATEWAY_RATE_LIMIT',
    default: '300',
    schema: wholeNumber(0),
    description:
      'Requests one client address may make to the gateway per window (gRPC-Web calls answer RESOURCE_EXHAUSTED beyond it, other requests 429); 0 turns the limit off.',
  }),
  gatewayRateWindowSeconds: setting({
    env: 'NST_GATEWAY_RATE_WINDOW_SECONDS',
    default: '60',
    schema: wholeNumber(1, 86_400),
    description: 'The window `NST_GATEWAY_RATE_LIMIT` counts over, in seconds.',
  }),
  gatewayTrustedHops: setting({
    env: 'NST_GATEWAY_TRUSTED_HOPS',
    default: '0',
    schema: wholeNumber(0, 16),
    description:
      "Proxies in front of the gateway whose x-forwarded-for entries it trusts, counting the connection's own peer: 0 (npm start: browsers connect directly) keys the rate limit on the connection's address; 1 behind compose's Envoy; 2 in the cluster (Envoy and its sidecar). The client address found this way is the rate limit's key and is sent to StyleService as x-nst-client-address.",
  }),
  inferenceThreads: setting({
    env: 'NST_INFERENCE_THREADS',
    default: '1',
    schema: wholeNumber(1, 256),
    description:
      'Intra-op threads of each ONNX Runtime session (one run split across them; scales poorly, so parallel sessions use cores better).',
  }),
  modelSessions: setting({
    env: 'NST_MODEL_SESSIONS',
    default: '2',
    schema: wholeNumber(1, 256),
    description:
      'Most ONNX Runtime sessions (worker threads) one loaded style version opens, each running one tile at a time; opened on demand when all are busy. Sessions x threads should match the cores.',
  }),
  tilesInFlight: setting({
    env: 'NST_TILES_IN_FLIGHT',
    default: '2',
    schema: wholeNumber(1, 256),
    description:
      "Tiles of one image sent to the model at once, so a single request can use several sessions; 1 keeps each request on one session.",
  }),
  normThumbnail: setting({
    env: 'NST_NORM_THUMBNAIL',
    default: '256',
    schema: wholeNumber(0, 8192),
    description:
      "Longest side of the thumbnail whose instance-norm statistics every tile of a large image uses, so tiles share one tone instead of showing as blocks; 0: each tile normalised by its own statistics.",
  }),
  inferenceMemoryArena: setting({
    env: 'NST_INFERENCE_MEMORY_ARENA',
    default: 'false',
    schema: boolean,
    description: "Keep ONNX Runtime's per-session memory arena: slightly faster reuse, but each session keeps its largest size for good.",
  }),
  servePrecision: setting({
    env: 'NST_SERVE_PRECISION',
    default: 'auto',
    schema: z.enum(['auto', 'fp32', 'int8'], { error: 'must be auto, fp32 or int8' }),
    description:
      "Which of a version's models StyleService serves: `auto` each version's own choice (INT8 where its quantized model passed the quality threshold when it was made, else FP32), `fp32` always the float model, `int8` the quantized model wherever a version has one. A version without the chosen model serves FP32; the reply's summary names the precision used.",
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
    description: 'Size of streamed image chunks, in bytes (stays below the 4 MiB gRPC message limit).',
  }),
  maxConcurrent: setting({
    env: 'NST_MAX_CONCURRENT',
    default: '2',
    schema: wholeNumber(1, 1024),
    description: 'Stylizations run at once; more wait in the queue.',
  }),
  queueLength: setting({
    env: 'NST_QUEUE_LENGTH',
    default: '16',
    schema: wholeNumber(0, 100_000),
    description: 'Requests that may wait for a slot; beyond that RESOURCE_EXHAUSTED.',
  }),
  queuePerClient: setting({
    env: 'NST_QUEUE_PER_CLIENT',
    default: '4',
    schema: wholeNumber(0, 100_000),
    description:
      'Most requests one client may have running or waiting (RESOURCE_EXHAUSTED beyond); freed slots go to the client with the fewest running. A client is its address for calls through a front door (x-nst-client-address from Envoy or the gateway; raise this where many people share one address), else its client id. 0: no limit.',
  }),
  tileSize: setting({
    env: 'NST_TILE_SIZE',
    default: '512',
    schema: wholeNumber(64, 8192),
    description: 'Side of the tiles large images are stylized in, in pixels.',
  }),
  tileOverlap: setting({
    env: 'NST_TILE_OVERLAP',
    default: '32',
    schema: wholeNumber(0, 4096),
    description: 'Overlap blended between neighbouring tiles, in pixels (less than half the tile size).',
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
  feedbackRetentionDays: setting({
    env: 'NST_FEEDBACK_RETENTION_DAYS',
    default: '30',
    schema: wholeNumber(1, 36_500),
    description: 'Days feedback and kept photos are retained.',
  }),
  photoHoldMib: setting({
    env: 'NST_PHOTO_HOLD_MIB',
    default: '128',
    schema: wholeNumber(0, 65_536),
    description:
      'MiB of recent uploads StyleService holds in memory so feedback given later with consent can keep the photo; 0 holds none (consented feedback then keeps no photo).',
  }),
  photoHoldMinutes: setting({
    env: 'NST_PHOTO_HOLD_MINUTES',
    default: '15',
    schema: wholeNumber(1, 24 * 60),
    description: 'How long an upload stays held for consented feedback, in minutes.',
  }),
  stylizeEventRetentionDays: setting({
    env: 'NST_STYLIZE_EVENT_RETENTION_DAYS',
    default: '30',
    schema: wholeNumber(1, 36_500),
    description: 'Days serving events (one per stylize call, read by the canary analysis) are retained.',
  }),
  finetuneMinBad: setting({
    env: 'NST_FINETUNE_MIN_BAD',
    default: '10',
    schema: wholeNumber(1),
    description: 'Fine-tune trigger: bad ratings of a version needed within the window.',
  }),
  finetuneBadRatio: setting({
    env: 'NST_FINETUNE_BAD_RATIO',
    default: '0.3',
    schema: decimal(0, 1),
    description: 'Fine-tune trigger: share of ratings within the window that must be bad (0 to 1).',
  }),
  finetuneWindowMinutes: setting({
    env: 'NST_FINETUNE_WINDOW_MINUTES',
    default: '1440',
    schema: wholeNumber(1),
    description: 'Fine-tune trigger: the window ratings are counted over, in minutes.',
  }),
  finetuneCooldownMinutes: setting({
    env: 'NST_FINETUNE_COOLDOWN_MINUTES',
    default: '360',
    schema: wholeNumber(0),
    description: 'Fine-tune trigger: least time between fine-tunes of one style, in minutes.',
  }),
  finetunePollSeconds: setting({
    env: 'NST_FINETUNE_POLL_SECONDS',
    default: '30',
    schema: wholeNumber(1, 86_400),
    description: 'Fine-tune trigger: how often the trainer looks at the feedback store, in seconds.',
  }),
  trainerConcurrency: setting({
    env: 'NST_TRAINER_CONCURRENCY',
    default: '1',
    schema: wholeNumber(1, 64),
    description: 'Training jobs run at once (each takes every core it can); more wait in the queue.',
  }),
  jobKeepaliveSeconds: setting({
    env: 'NST_JOB_KEEPALIVE_SECONDS',
    default: '30',
    schema: wholeNumber(1, 3600),
    description:
      "WatchJob resends a job's state after this many seconds without an update (a queued job, a slow step), so proxies that close idle streams (often after 5 minutes) keep the watch open.",
  }),
  eventsDir: setting({
    env: 'NST_EVENTS_DIR',
    default: ({ dataDir }) => resolve(dataDir ?? '.data', 'events'),
    defaultDoc: '`<NST_DATA_DIR>/events`',
    path: true,
    schema: text,
    description: 'Embedded serving-event store: one JSON line per stylize call (version, gRPC status, latency), read by the release analysis.',
  }),
  releaseMode: setting({
    env: 'NST_RELEASE_MODE',
    default: 'local',
    schema: z.enum(['local', 'cluster'], { error: 'must be local or cluster' }),
    description: 'Where rollouts take effect: `local` (the router in StyleService) or `cluster` (also applies Istio routing to Kubernetes).',
  }),
  autoRelease: setting({
    env: 'NST_AUTO_RELEASE',
    default: 'true',
    schema: boolean,
    description: 'Whether a newly registered version starts a canary by itself.',
  }),
  canaryLadder: setting({
    env: 'NST_CANARY_LADDER',
    default: '10,25,50,100',
    schema: ladder,
    description: 'Canary weights in percent the analysis steps through, ascending; reaching 100 means promotion.',
  }),
  analysisIntervalSeconds: setting({
    env: 'NST_ANALYSIS_INTERVAL_SECONDS',
    default: '60',
    schema: decimal(0.1, 86_400),
    description: 'How often the release analysis judges each canary, in seconds.',
  }),
  analysisMinRatings: setting({
    env: 'NST_ANALYSIS_MIN_RATINGS',
    default: '30',
    schema: wholeNumber(1),
    description: 'Ratings stable and canary each need (since the last weight change) before approval is judged.',
  }),
  analysisMinCalls: setting({
    env: 'NST_ANALYSIS_MIN_CALLS',
    default: '30',
    schema: wholeNumber(1),
    description: 'Stylize calls each need (since the last weight change) before error rate and latency are judged.',
  }),
  analysisAlpha: setting({
    env: 'NST_ANALYSIS_ALPHA',
    default: '0.05',
    schema: decimal(0.000001, 0.5),
    description: 'Significance level of the one-sided Fisher exact test that the canary is rated worse.',
  }),
  analysisErrorMargin: setting({
    env: 'NST_ANALYSIS_ERROR_MARGIN',
    default: '0.02',
    schema: decimal(0, 1),
    description: "How far the canary's server-fault error rate may exceed stable's (0.02 = 2 points) before it is rolled back.",
  }),
  analysisLatencyRatio: setting({
    env: 'NST_ANALYSIS_LATENCY_RATIO',
    default: '1.5',
    schema: decimal(1, 1000),
    description: "Largest canary p95 stylize latency as a multiple of stable's before it is rolled back.",
  }),
  analysisMinStepSeconds: setting({
    env: 'NST_ANALYSIS_MIN_STEP_SECONDS',
    default: '300',
    schema: decimal(0, 604_800),
    description: 'Least time a canary stays at one weight before the analysis steps it up, in seconds.',
  }),
  clusterNamespace: setting({
    env: 'NST_CLUSTER_NAMESPACE',
    default: 'nst',
    schema: text,
    description: 'Cluster mode: the Kubernetes namespace the Istio routing is applied in.',
  }),
  clusterStyleService: setting({
    env: 'NST_CLUSTER_STYLE_SERVICE',
    default: 'nst-inference',
    schema: text,
    description: 'Cluster mode: the Kubernetes Service of StyleService that the Istio routing is for.',
  }),
  clusterCanaryDeployment: setting({
    env: 'NST_CLUSTER_CANARY_DEPLOYMENT',
    default: 'nst-inference-canary',
    schema: text,
    description: 'Cluster mode: the StyleService Deployment of the canary track (pods labelled `nst.dev/track: canary`), scaled up while a canary gets calls and to 0 after.',
  }),
  clusterCanaryReplicas: setting({
    env: 'NST_CLUSTER_CANARY_REPLICAS',
    default: '1',
    schema: wholeNumber(1, 100),
    description: 'Cluster mode: replicas the canary Deployment is scaled to while a canary gets calls.',
  }),
  clusterCanaryReadySeconds: setting({
    env: 'NST_CLUSTER_CANARY_READY_SECONDS',
    default: '120',
    schema: wholeNumber(1, 3600),
    description: 'Cluster mode: how long to wait for the canary Deployment\'s replicas to be available before giving up on routing calls to it, in seconds.',
  }),
  clusterReconcileSeconds: setting({
    env: 'NST_CLUSTER_RECONCILE_SECONDS',
    default: '30',
    schema: wholeNumber(0, 3600),
    description: 'Cluster mode: how often the rollout state is re-applied to the cluster (canary replicas and availability, Istio routing), undoing drift and retrying failed applies, in seconds; 0 only applies on changes.',
  }),
  styleMetricsPort: setting({
    env: 'NST_STYLE_METRICS_PORT',
    default: '9461',
    schema: wholeNumber(0, 65535),
    description: 'Port of StyleService\'s Prometheus `/metrics` (plain HTTP, all interfaces); 0 serves none.',
  }),
  trainerMetricsPort: setting({
    env: 'NST_TRAINER_METRICS_PORT',
    default: '9462',
    schema: wholeNumber(0, 65535),
    description: 'Port of TrainerService\'s Prometheus `/metrics`; 0 serves none.',
  }),
  releaseMetricsPort: setting({
    env: 'NST_RELEASE_METRICS_PORT',
    default: '9463',
    schema: wholeNumber(0, 65535),
    description: 'Port of ReleaseService\'s Prometheus `/metrics`; 0 serves none.',
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
};

type Settings = typeof SETTINGS;
type ValueOf<K extends keyof Settings> = z.output<Settings[K]['schema']>;
type IsOptional<K extends keyof Settings> = Settings[K] extends { default: unknown } ? false : true;

/** The validated settings. Optional ones (no default) are undefined when unset. */
export type Config = Readonly<
  { [K in keyof Settings as IsOptional<K> extends true ? never : K]: ValueOf<K> } & {
    [K in keyof Settings as IsOptional<K> extends true ? K : never]?: ValueOf<K>;
  }
>;

/** A setting failed validation; the message names every bad variable and its value. */
export class ConfigError extends Error {
  constructor(readonly problems: { env: string; value: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.env}=${JSON.stringify(p.value)} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Where relative paths resolve; default process.cwd(). */
  cwd?: string;
  /** Whether standard output is a terminal, for the default of NST_LOG_FORMAT; default process.stdout.isTTY. */
  stdoutIsTTY?: boolean;
}

/** Reads and validates every setting; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const context: Context = { cwd: options.cwd ?? process.cwd(), stdoutIsTTY: options.stdoutIsTTY ?? process.stdout.isTTY === true };
  const values: Record<string, unknown> = {};
  const problems: ConstructorParameters<typeof ConfigError>[0] = [];
  for (const [key, spec] of Object.entries(SETTINGS) as [string, Setting<z.ZodType<unknown, string>>][]) {
    const given = env[spec.env]?.trim();
    const raw = given ? given : typeof spec.default === 'function' ? spec.default(context) : spec.default;
    if (raw === undefined) {
      values[key] = undefined;
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      problems.push({ env: spec.env, value: raw, message: parsed.error.issues.map((issue) => issue.message).join(', ') });
      continue;
    }
    values[key] = spec.path ? resolve(context.cwd, parsed.data as string) : parsed.data;
    if (key === 'dataDir') context.dataDir = values[key] as string;
  }
  const tileSize = values['tileSize'];
  const tileOverlap = values['tileOverlap'];
  if (typeof tileSize === 'number' && typeof tileOverlap === 'number' && tileOverlap * 2 >= tileSize) {
    problems.push({ env: 'NST_TILE_OVERLAP', value: String(tileOverlap), message: `must be less than half of NST_TILE_SIZE (${tileSize})` });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (Array.isArray(values['gatewayCorsOrigins'])) Object.freeze(values['gatewayCorsOrigins']);
  if (Array.isArray(values['canaryLadder'])) Object.freeze(values['canaryLadder']);
  return Object.freeze(values) as unknown as Config;
}

export interface ConfigDoc {
  name: string;
  default: string;
  description: string;
}

/** Name, default and description of every setting, in the order they are documented. */
export function configDocs(): ConfigDoc[] {
  return Object.values(SETTINGS).map((spec: Setting<z.ZodType<unknown, string>>) => ({
    name: spec.env,
    default: spec.defaultDoc ?? (typeof spec.default === 'string' ? `\`${spec.default}\`` : '(none)'),
    description: spec.description,
  }));
}

/** The settings as a markdown table, for the README. */
export function configDocsMarkdown(): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  const rows = configDocs().map((doc) => `| \`${doc.name}\` | ${escape(doc.default)} | ${escape(doc.description)} |`);
  return ['| Variable | Default | Description |', '| --- | --- | --- |', ...rows].join('\n') + '\n';
}

/**
 * StyleService's own settings (the core and the stores' come from @nst/runtime): its model
 * cache and routing state, ONNX Runtime's threads and sessions, tiling, admission, the photos it
 * holds for consented feedback, and its metrics port.
 */
import { z } from 'zod';
import { boolean, CORE_SETTINGS, metricsPortSetting, setting, settingsGroup, settingsLoader, STORE_SETTINGS, text, underDataDir, wholeNumber } from '@nst/runtime/config';

export const STYLE_SETTINGS = settingsGroup(
  'StyleService (`inference/src/config.ts`)',
  {
    modelCacheDir: setting({
      env: 'NST_MODEL_CACHE_DIR',
      ...underDataDir('style', 'model-cache'),
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
      ...underDataDir('style', 'last-rollouts.json'),
      schema: text,
      description:
        "StyleService's copy of the last rollout state ReleaseService streamed, so routing survives a restart while ReleaseService is away.",
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
    styleMetricsPort: metricsPortSetting('NST_STYLE_METRICS_PORT', 9461, 'StyleService'),
  },
  ({ tileSize, tileOverlap }) =>
    tileOverlap * 2 >= tileSize ? [{ env: 'NST_TILE_OVERLAP', value: String(tileOverlap), message: `must be less than half of NST_TILE_SIZE (${tileSize})` }] : [],
);

/** Reads and validates StyleService's settings (with the core and the stores'); throws ConfigError naming each bad variable. */
export const loadStyleConfig = settingsLoader([CORE_SETTINGS, STORE_SETTINGS, STYLE_SETTINGS]);

/** Everything the process reads. */
export type StyleConfig = ReturnType<typeof loadStyleConfig>;

/**
 * startStyleServer: StyleService as the platform runs it, from the validated configuration
 * and the feedback store. Styles and models come from TrainerService (WatchVersions, FetchModel
 * into its own model cache: service/trainer-catalog.ts), or from a registry folder when one is
 * given. Models are ONNX Runtime sessions (ThumbnailNormModel over StyleModel pools) loaded
 * lazily per (style, version) and cached.
 */
import type { FeedbackStore, ModelRegistry, Precision, StylizeEventStore } from '@nst/runtime';
import type { StyleConfig } from '../config';
import { ThumbnailNormModel } from '../engine/thumbnail-norm';
import { LatestVersionResolver, type StyleCatalog, type VersionResolver } from '../service/catalog';
import { registryCatalog } from '../service/registry-catalog';
import { RolloutFeed } from '../service/rollout-feed';
import { RolloutRouter } from '../service/rollout-router';
import { TrainerCatalog } from '../service/trainer-catalog';
import type { LoadedStyleModel } from '../service/stylize';
import { launchStyleService, type RunningStyleService } from './style-service-server';
import type { ServiceLogger } from './style-handlers';

export type StyleServerConfig = Pick<
  StyleConfig,
  | 'styleAddr'
  | 'maxUploadBytes'
  | 'maxPixels'
  | 'chunkBytes'
  | 'maxConcurrent'
  | 'queueLength'
  | 'tileSize'
  | 'tileOverlap'
  | 'inferenceThreads'
  | 'feedbackRetentionDays'
> & {
    /** Where consented photos are kept when styles come from a registry folder (TrainerService keeps them otherwise). */
    keptPhotosDir?: string;
  } &
  // With ReleaseService's address the release router (its WatchRollouts stream) picks versions;
  // else the latest serves.
  // Without the parallelism settings a model runs one session, one tile at a time.
  // Without a registry, models and styles come from TrainerService (trainerAddr) into the model cache.
  Partial<Pick<StyleConfig, 'trainerAddr' | 'modelCacheDir' | 'modelCacheMib' | 'adminToken'>> &
  Partial<Pick<StyleConfig, 'releaseAddr' | 'routingStateFile' | 'tilesInFlight' | 'modelSessions' | 'inferenceMemoryArena' | 'photoHoldMib' | 'photoHoldMinutes' | 'queuePerClient' | 'normThumbnail' | 'servePrecision'>>;

export interface StartStyleServerOptions {
  config: StyleServerConfig;
  /**
   * Reads styles and models straight from this registry folder (tests, and `npm start` until it
   * is rewired). Without it they come from TrainerService at config.trainerAddr: the
   * WatchVersions catalogue and FetchModel into config.modelCacheDir.
   */
  registry?: ModelRegistry;
  /** The TrainerService catalogue's heartbeat and reconnect backoff (tests shorten them). */
  trainerWatch?: { heartbeatSeconds?: number; backoff?: { initialMs: number; maxMs: number }; readyWaitMs?: number };
  feedbackStore: Pick<FeedbackStore, 'append'>;
  logger: ServiceLogger;
  /** Listen here instead of config.styleAddr (tests pass 127.0.0.1:0 for a free port). */
  address?: string;
  /**
   * Chooses the serving version; default: the release router following config.releaseAddr
   * when set (pinned, else canary or stable by the streamed rollouts, else latest), otherwise
   * pinned, else latest.
   */
  resolver?: VersionResolver;
  /** Receives one serving event per stylize call, for the release analysis. */
  events?: Pick<StylizeEventStore, 'append'>;
  /** Health says NOT_SERVING until this resolves: the stores' `ready` (Elasticsearch answered). */
  ready?: Promise<unknown>;
  /** Loaded models kept in memory; default 4. */
  modelCacheSize?: number;
  /** Stylize uploads idle this long are abandoned; default 30 s. */
  uploadIdleMs?: number;
  /** How long uploads stay available to consented feedback, in memory; default NST_PHOTO_HOLD_MINUTES. */
  photoHoldMs?: number;
  /** Most bytes of recent uploads held for that; default NST_PHOTO_HOLD_MIB. */
  photoHoldBytes?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export interface StartedStyleService extends RunningStyleService {
  /** The catalogue and model cache over TrainerService; absent when serving from a registry folder. */
  trainerCatalog?: TrainerCatalog;
  /** The rollouts followed from ReleaseService; absent without config.releaseAddr. */
  rollouts?: RolloutFeed;
}

/** The catalogue over TrainerService; waits briefly for its first snapshot so the first calls find the styles. */
async function openTrainerCatalog(options: StartStyleServerOptions): Promise<TrainerCatalog> {
  const { config, logger } = options;
  if (!config.trainerAddr || !config.modelCacheDir) {
    throw new Error('startStyleServer needs a registry, or config.trainerAddr and config.modelCacheDir to fetch models from TrainerService');
  }
  const watch = options.trainerWatch ?? {};
  const catalog = await new TrainerCatalog({
    address: config.trainerAddr,
    cacheDir: config.modelCacheDir,
    maxBytes: (config.modelCacheMib ?? 256) * 1024 * 1024,
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
    ...(watch.heartbeatSeconds ? { heartbeatSeconds: watch.heartbeatSeconds } : {}),
    ...(watch.backoff ? { backoff: watch.backoff } : {}),
    logger,
  }).start();
  if (!(await catalog.ready(watch.readyWaitMs ?? 3000))) {
    logger.warn({ trainer: config.trainerAddr }, 'TrainerService has not sent the style catalogue yet; serving what the model cache holds until it does');
  }
  return catalog;
}

/**
 * Loads each canary's model as soon as the rollout state names it, so the canary's first callers
 * do not wait for FetchModel and the sessions to start, and the release analysis judges the
 * canary's latency rather than its cold start. Returns the unsubscribe.
 */
function warmCanaries(rollouts: RolloutFeed, running: RunningStyleService, logger: ServiceLogger): () => void {
  const warm = (): void => {
    for (const { style, phase, canaryVersion } of rollouts.all()) {
      if (phase !== 'canary' || !canaryVersion) continue;
      running.models.use(style, canaryVersion, async () => undefined).catch((err: unknown) =>
        logger.warn({ err, style, version: canaryVersion }, 'the canary model was not loaded ahead; its first call loads it'),
      );
    }
  };
  warm();
  return rollouts.onUpdate(warm);
}

export async function startStyleServer(options: StartStyleServerOptions): Promise<StartedStyleService> {
  const { config } = options;
  let trainerCatalog: TrainerCatalog | undefined;
  const catalog: StyleCatalog = options.registry ? registryCatalog(options.registry) : (trainerCatalog = await openTrainerCatalog(options));
  const rollouts =
    !options.resolver && config.releaseAddr && config.routingStateFile
      ? await RolloutFeed.open({ address: config.releaseAddr, stateFile: config.routingStateFile, logger: options.logger })
      : undefined;
  const resolver = options.resolver ?? (rollouts ? new RolloutRouter(rollouts, new LatestVersionResolver(catalog)) : undefined);
  const loadModel = async (onnx: Uint8Array, _style: string, _version: string, precision: Precision): Promise<LoadedStyleModel> =>
    ThumbnailNormModel.load(
      onnx,
      {
        threads: config.inferenceThreads,
        sessions: config.modelSessions,
        memoryArena: config.inferenceMemoryArena,
      },
      precision,
    );
  const running = await launchStyleService({
    address: options.address ?? config.styleAddr,
    limits: {
      maxUploadBytes: config.maxUploadBytes,
      maxPixels: config.maxPixels,
      chunkBytes: config.chunkBytes,
      tileSize: config.tileSize,
      tileOverlap: config.tileOverlap,
      tilesInFlight: config.tilesInFlight,
      normThumbnail: config.normThumbnail ?? 0,
      maxConcurrent: config.maxConcurrent,
      queueLength: config.queueLength,
      perClient: config.queuePerClient ?? 0,
    },
    catalog,
    feedback: options.feedbackStore,
    photos: {
      dir: config.keptPhotosDir,
      // Consented photos go to TrainerService, which owns them (KeepPhoto), when it serves the models.
      ...(trainerCatalog
        ? {
            sink: trainerCatalog,
            onSinkError: (err: unknown, requestId: string) =>
              options.logger.warn({ err, requestId }, 'TrainerService did not take the consented photo; the rating is recorded without it'),
          }
        : {}),
      holdBytes: options.photoHoldBytes ?? (config.photoHoldMib ?? 128) * 1024 * 1024,
      holdMs: options.photoHoldMs ?? (config.photoHoldMinutes ?? 15) * 60 * 1000,
      retentionMs: config.feedbackRetentionDays * DAY_MS,
    },
    loadModel,
    servePrecision: config.servePrecision,
    ...(resolver ? { resolver } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...(options.ready ? { ready: options.ready } : {}),
    ...(options.modelCacheSize ? { modelCacheSize: options.modelCacheSize } : {}),
    ...(options.uploadIdleMs ? { uploadIdleMs: options.uploadIdleMs } : {}),
    logger: options.logger,
  });
  const stopWarming = rollouts ? warmCanaries(rollouts, running, options.logger) : undefined;
  if (!trainerCatalog && !rollouts) return running;
  const opened = trainerCatalog;
  return {
    ...running,
    ...(opened ? { trainerCatalog: opened } : {}),
    ...(rollouts ? { rollouts } : {}),
    close: async (graceMs?: number) => {
      stopWarming?.();
      await running.close(graceMs);
      await rollouts?.close();
      await opened?.close();
    },
  };
}

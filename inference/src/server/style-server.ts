/**
 * startStyleServer: StyleService as the platform runs it, from the validated configuration,
 * the model registry and the feedback store. Models are ONNX Runtime sessions (ThumbnailNormModel over StyleModel pools)
 * loaded lazily per (style, version) and cached.
 */
import { RolloutRouter, RolloutStore } from '@nst/mesh';
import type { Config, FeedbackStore, ModelRegistry, StylizeEventStore } from '@nst/runtime';
import { ThumbnailNormModel } from '../engine/thumbnail-norm';
import { LatestVersionResolver, type VersionResolver } from '../service/catalog';
import { registryCatalog } from '../service/registry-catalog';
import type { LoadedStyleModel } from '../service/stylize';
import { launchStyleService, type RunningStyleService } from './style-service-server';
import type { ServiceLogger } from './style-handlers';

export type StyleServerConfig = Pick<
  Config,
  | 'styleAddr'
  | 'maxUploadBytes'
  | 'maxPixels'
  | 'chunkBytes'
  | 'maxConcurrent'
  | 'queueLength'
  | 'tileSize'
  | 'tileOverlap'
  | 'inferenceThreads'
  | 'keptPhotosDir'
  | 'feedbackRetentionDays'
> &
  // With a releases folder the release router (rollouts.json) picks versions; else the latest serves.
  // Without the parallelism settings a model runs one session, one tile at a time.
  Partial<Pick<Config, 'releasesDir' | 'tilesInFlight' | 'modelSessions' | 'inferenceMemoryArena' | 'photoHoldMib' | 'photoHoldMinutes' | 'queuePerClient' | 'normThumbnail'>>;

export interface StartStyleServerOptions {
  config: StyleServerConfig;
  registry: ModelRegistry;
  feedbackStore: Pick<FeedbackStore, 'append'>;
  logger: ServiceLogger;
  /** Listen here instead of config.styleAddr (tests pass 127.0.0.1:0 for a free port). */
  address?: string;
  /**
   * Chooses the serving version; default: the release router over config.releasesDir when set
   * (pinned, else canary or stable by rollouts.json, else latest), otherwise pinned, else latest.
   */
  resolver?: VersionResolver;
  /** Receives one serving event per stylize call, for the release analysis. */
  events?: Pick<StylizeEventStore, 'append'>;
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

export function startStyleServer(options: StartStyleServerOptions): Promise<RunningStyleService> {
  const { config } = options;
  const catalog = registryCatalog(options.registry);
  const resolver =
    options.resolver ??
    (config.releasesDir
      ? new RolloutRouter(new RolloutStore(config.releasesDir), new LatestVersionResolver(catalog), {
          onStateError: (err) => options.logger.error({ err }, 'rollout state unreadable; the last good state keeps serving'),
        })
      : undefined);
  const loadModel = async (onnx: Uint8Array): Promise<LoadedStyleModel> =>
    ThumbnailNormModel.load(onnx, {
      threads: config.inferenceThreads,
      sessions: config.modelSessions,
      memoryArena: config.inferenceMemoryArena,
    });
  return launchStyleService({
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
      holdBytes: options.photoHoldBytes ?? (config.photoHoldMib ?? 128) * 1024 * 1024,
      holdMs: options.photoHoldMs ?? (config.photoHoldMinutes ?? 15) * 60 * 1000,
      retentionMs: config.feedbackRetentionDays * DAY_MS,
    },
    loadModel,
    ...(resolver ? { resolver } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...(options.modelCacheSize ? { modelCacheSize: options.modelCacheSize } : {}),
    ...(options.uploadIdleMs ? { uploadIdleMs: options.uploadIdleMs } : {}),
    logger: options.logger,
  });
}

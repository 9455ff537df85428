/**
 * Assembles StyleService: admission queue, model cache, photo keeper and handlers, served on
 * a gRPC server with health and reflection. `launchStyleService` takes explicit parts (tests
 * and the bench wire their own); `startStyleServer` (style-server.ts) builds them from the
 * platform's configuration, registry and feedback store.
 */
import { StyleServiceService } from '@nst/proto';
import { AdmissionQueue, type AdmissionLimits } from '../service/admission-queue';
import { LatestVersionResolver, type StyleCatalog, type VersionResolver } from '../service/catalog';
import type { FeedbackSink } from '../service/feedback';
import { ModelCache } from '../service/model-cache';
import { PhotoKeeper, type PhotoKeeperOptions } from '../service/photo-keeper';
import { choosePrecision, type ServePrecisionSetting } from '../service/precision';
import { ServedRequests } from '../service/served-requests';
import type { LoadedStyleModel, StylizeLimits } from '../service/stylize';
import { platformMetrics, startGrpcServer, type Precision, type StylizeEventStore } from '@nst/runtime';
import { createStyleHandlers, type ServiceLogger } from './style-handlers';

export const STYLE_SERVICE_NAME = 'nst.v1.StyleService';

export interface StyleServiceOptions {
  /** host:port; port 0 picks a free port. */
  address: string;
  limits: StylizeLimits & AdmissionLimits;
  catalog: StyleCatalog;
  feedback: FeedbackSink;
  photos: PhotoKeeperOptions;
  /** Turns a version's ONNX bytes (at `precision`) into a runnable model. */
  loadModel: (onnx: Uint8Array, style: string, version: string, precision: Precision) => Promise<LoadedStyleModel>;
  /** Which of a version's models to serve (NST_SERVE_PRECISION); default 'auto': the version's own choice. */
  servePrecision?: ServePrecisionSetting;
  /** Chooses the serving version; defaults to the pinned or else the latest version. */
  resolver?: VersionResolver;
  /** Loaded models kept in memory (LRU). */
  modelCacheSize?: number;
  /** Stylize uploads idle this long are abandoned. */
  uploadIdleMs?: number;
  /** Receives one serving event per stylize call (the release analysis reads them). */
  events?: Pick<StylizeEventStore, 'append'>;
  /** Health says NOT_SERVING until this resolves (the feedback and event stores answered). */
  ready?: Promise<unknown>;
  logger: ServiceLogger;
}

export interface RunningStyleService {
  port: number;
  queue: AdmissionQueue;
  models: ModelCache<LoadedStyleModel>;
  /** Stops accepting calls, drains those in flight (up to `graceMs`) and frees the models. */
  close(graceMs?: number): Promise<void>;
}

/** How often kept photos past their retention are deleted. */
const PHOTO_SWEEP_MS = 60 * 60 * 1000;

export async function launchStyleService(options: StyleServiceOptions): Promise<RunningStyleService> {
  const { limits, catalog, logger } = options;
  const queue = new AdmissionQueue(limits, (reason) => platformMetrics().queueRejected.inc({ reason }));
  const models = new ModelCache<LoadedStyleModel>(options.modelCacheSize ?? 4, async (style, version) => {
    const started = performance.now();
    const precisions = catalog.precisions ? await catalog.precisions(style, version) : { available: ['fp32' as const], serve: 'fp32' as const };
    const precision = choosePrecision(precisions, options.servePrecision ?? 'auto');
    const load = async (at: Precision): Promise<LoadedStyleModel> => {
      const model = await options.loadModel(await catalog.readModel(style, version, at), style, version, at);
      logger.info({ style, version, precision: at, ms: Math.round(performance.now() - started) }, 'model loaded');
      return model;
    };
    if (precision === 'fp32') return load('fp32');
    try {
      return await load(precision);
    } catch (error) {
      // The FP32 model paints the same picture, a little slower: better than no picture.
      logger.warn({ style, version, precision, err: error }, 'could not load the quantized model; serving FP32');
      return load('fp32');
    }
  });
  const photos = new PhotoKeeper(options.photos);
  const sweepPhotos = (): void => {
    photos.sweep().then(
      (deleted) => deleted > 0 && logger.info({ deleted }, 'deleted kept photos past retention'),
      (err: unknown) => logger.warn({ err }, 'photo retention sweep failed'),
    );
  };
  sweepPhotos();
  const sweeper = setInterval(sweepPhotos, PHOTO_SWEEP_MS).unref();

  const handlers = createStyleHandlers({
    limits,
    queue,
    resolver: options.resolver ?? new LatestVersionResolver(catalog),
    models,
    photos,
    catalog,
    feedback: options.feedback,
    logger,
    uploadIdleMs: options.uploadIdleMs ?? 30_000,
    served: new ServedRequests(),
    events: options.events,
  });
  const grpc = await startGrpcServer({
    address: options.address,
    services: [{ name: STYLE_SERVICE_NAME, definition: StyleServiceService, implementation: handlers }],
    // A StylizeImage request carries the whole upload: allow the upload limit plus room for
    // the header, so oversized images get this service's own message, not a transport error.
    channelOptions: {
      'grpc.max_receive_message_length': limits.maxUploadBytes + 64 * 1024,
      'grpc.max_send_message_length': Math.max(limits.chunkBytes + 64 * 1024, 4 * 1024 * 1024),
    },
    ...(options.ready ? { ready: options.ready } : {}),
  });
  logger.info({ port: grpc.port, address: options.address, limits }, 'StyleService listening');
  return {
    port: grpc.port,
    queue,
    models,
    close: async (graceMs?: number) => {
      clearInterval(sweeper);
      await grpc.close(graceMs);
      await models.close();
    },
  };
}

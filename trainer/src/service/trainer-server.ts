/**
 * Assembles TrainerService: job store and queue, the worker-thread executor, the fine-tune
 * trigger and the gRPC handlers, served with health and reflection. `launchTrainerService`
 * takes explicit parts (tests wire their own registry and feedback store);
 * `startTrainerServer` builds them from the platform's configuration.
 */
import { TrainerServiceService, type Hyperparameters } from '@nst/proto';
import {
  createLogger,
  ModelRegistry,
  openFeedbackStore,
  resolveAdminToken,
  startGrpcServer,
  type AdminToken,
  type Logger,
} from '@nst/runtime';
import { createCatalogueHandlers } from './catalogue-handlers';
import { FeedbackStoreReader } from './feedback-adapter';
import { KeptPhotoStore } from './kept-photos';
import { RegistryAdapter } from './registry-adapter';
import { FineTuneTrigger, type FineTuneThresholds } from './finetune-trigger';
import { createTrainerHandlers } from './trainer-handlers';
import { WorkerJobExecutor } from './job-executor';
import { JobManager, type JobManagerLogger } from './job-manager';
import { jobMetricsListener } from './job-metrics';
import { JobStore } from './job-store';
import type { PaintingLimits } from './painting';
import type { FeedbackReader, ModelCatalogue, TrainerRegistry } from './ports';
import { Trainer } from './trainer';
import { jobThreads, type TrainerConfig } from '../config';

export const TRAINER_SERVICE_NAME = 'nst.v1.TrainerService';

export interface TrainerServiceOptions {
  /** host:port; port 0 picks a free port. */
  address: string;
  /** Folder of job records, inputs and checkpoints. */
  jobsDir: string;
  adminToken: string;
  registry: TrainerRegistry;
  feedback: FeedbackReader;
  /** Regular training photos; the starter photos when absent. */
  photosDir?: string;
  paintingLimits: PaintingLimits;
  /** The automatic fine-tune; absent: no automatic fine-tunes. */
  autoFineTune?: FineTuneThresholds & { pollSeconds: number; hyperparameters?: Hyperparameters };
  /**
   * What WatchVersions and FetchModel serve; default `registry` when it is a RegistryAdapter
   * (whose folder is also polled for versions other processes write).
   */
  catalogue?: ModelCatalogue;
  /** Where KeepPhoto stores consented photos and how long they stay; absent: KeepPhoto is refused. */
  keptPhotos?: { dir: string; retentionMs: number };
  /** FetchModel's chunk size (NST_CHUNK_BYTES); default 256 KiB. */
  chunkBytes?: number;
  /** Most seconds between polls of the registry folder for versions other processes write; default 2. */
  registryPollSeconds?: number;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** WASM threads of each job (config.ts jobThreads; default: the backend's, NST_TRAIN_THREADS else 1). */
  jobThreads?: number;
  /** WatchJob resends a job's state after this many quiet seconds (default 30, NST_JOB_KEEPALIVE_SECONDS). */
  watchKeepaliveSeconds?: number;
  checkpointEvery?: number;
  previewEvery?: number;
  logger: JobManagerLogger | Logger;
}

export interface RunningTrainerService {
  port: number;
  jobs: JobManager;
  trainer: Trainer;
  trigger?: FineTuneTrigger;
  /**
   * Stops accepting calls, stops the trigger, checkpoints the running job (it resumes on the
   * next start), ends open WatchJob streams and closes the server.
   */
  close(graceMs?: number): Promise<void>;
}

export async function launchTrainerService(options: TrainerServiceOptions): Promise<RunningTrainerService> {
  const logger = options.logger as JobManagerLogger;
  const store = await JobStore.open(options.jobsDir);
  const executor = new WorkerJobExecutor(store.root, {
    registry: options.registry,
    feedback: options.feedback,
    ...(options.photosDir ? { photosDir: options.photosDir } : {}),
    logger,
    ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
    ...(options.previewEvery ? { previewEvery: options.previewEvery } : {}),
    ...(options.jobThreads ? { threads: options.jobThreads } : {}),
  });
  const jobs = new JobManager({ store, executor, logger, concurrency: options.concurrency ?? 1 });
  jobs.onUpdate(jobMetricsListener());
  const trainer = new Trainer({ jobs, store, registry: options.registry, paintingLimits: options.paintingLimits });
  const adapter = options.registry instanceof RegistryAdapter ? options.registry : undefined;
  const catalogue = options.catalogue ?? adapter;
  if (!catalogue) throw new Error('launchTrainerService needs a catalogue (WatchVersions, FetchModel) when its registry is not a RegistryAdapter');
  const keptPhotos = options.keptPhotos ? new KeptPhotoStore(options.keptPhotos) : undefined;
  const catalogueHandlers = createCatalogueHandlers({
    catalogue,
    ...(keptPhotos ? { keptPhotos } : {}),
    adminToken: options.adminToken,
    chunkBytes: options.chunkBytes ?? 256 * 1024,
    logger,
  });
  const handlers = createTrainerHandlers({
    trainer,
    jobs,
    adminToken: options.adminToken,
    logger,
    catalogue: catalogueHandlers.implementation,
    watchKeepaliveMs: (options.watchKeepaliveSeconds ?? 30) * 1000,
  });
  // Versions written by other processes (a starter build into the data folder) reach watchers too.
  const folderWatch =
    !options.catalogue && adapter
      ? adapter.watchFolder((options.registryPollSeconds ?? 2) * 1000, (err) => logger.warn({ err }, 'registry poll failed; trying again'))
      : undefined;
  await folderWatch?.ready;
  const sweepPhotos = (): void => {
    keptPhotos?.sweep().then(
      (deleted) => deleted > 0 && logger.info({ deleted }, 'deleted kept photos past retention'),
      (err: unknown) => logger.warn({ err }, 'kept photo retention sweep failed'),
    );
  };
  sweepPhotos();
  const photoSweeper = keptPhotos ? setInterval(sweepPhotos, 60 * 60 * 1000).unref() : undefined;
  const grpc = await startGrpcServer({
    address: options.address,
    services: [
      {
        name: TRAINER_SERVICE_NAME,
        definition: TrainerServiceService,
        implementation: handlers.implementation,
      },
    ],
    // CreateStyleFromImage carries the whole painting in one message.
    channelOptions: { 'grpc.max_receive_message_length': options.paintingLimits.maxBytes + 64 * 1024 },
  });
  await jobs.start();
  let trigger: FineTuneTrigger | undefined;
  if (options.autoFineTune) {
    trigger = new FineTuneTrigger({ ...options.autoFineTune, feedback: options.feedback, trainer, jobs, logger });
    trigger.start();
  }
  logger.info(
    { address: options.address, port: grpc.port, jobsDir: options.jobsDir, autoFineTune: options.autoFineTune ?? false },
    'TrainerService listening',
  );

  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = grpc.close(graceMs);
      folderWatch?.stop();
      clearInterval(photoSweeper);
      // Watchers reconnect to the next TrainerService; their streams must not hold the close.
      catalogueHandlers.endWatches();
      await trigger?.stop();
      await jobs.close();
      handlers.endWatches();
      await serverClosed;
      logger.info({}, 'TrainerService stopped');
    })();
    return closing;
  };
  return { port: grpc.port, jobs, trainer, ...(trigger ? { trigger } : {}), close };
}

export interface StartTrainerOptions {
  logger?: Logger;
  /** An open registry to share; opened from config.registryDir when absent. */
  registry?: ModelRegistry;
  /** Settings of the automatic fine-tunes (tests use tiny ones); the fine-tune defaults when absent. */
  autoFineTuneHyperparameters?: Hyperparameters;
}

export interface StartedTrainerService extends RunningTrainerService {
  adminToken: AdminToken;
}

/** TrainerService as `npm start` and a deployment run it: everything from the configuration. */
export async function startTrainerServer(config: TrainerConfig, options: StartTrainerOptions = {}): Promise<StartedTrainerService> {
  const logger = options.logger ?? createLogger('trainer');
  const adminToken = await resolveAdminToken(config.adminToken, config.dataDir);
  if (adminToken.generated) logger.info({ file: adminToken.file }, 'generated the admin token');
  const registry = options.registry ?? (await ModelRegistry.open(config.registryDir));
  // The fine-tune trigger reads ratings from Elasticsearch when ELASTICSEARCH_URL is set, else the embedded store.
  const feedback = new FeedbackStoreReader(config.keptPhotosDir, () => openFeedbackStore(config, { readOnly: true }));
  const running = await launchTrainerService({
    address: config.trainerAddr,
    jobsDir: config.jobsDir,
    adminToken: adminToken.token,
    registry: new RegistryAdapter(registry),
    feedback,
    ...(config.photosDir ? { photosDir: config.photosDir } : {}),
    paintingLimits: { maxBytes: config.maxUploadBytes, maxPixels: config.maxPixels },
    keptPhotos: { dir: config.keptPhotosDir, retentionMs: config.feedbackRetentionDays * 24 * 60 * 60 * 1000 },
    chunkBytes: config.chunkBytes,
    autoFineTune: {
      minBad: config.finetuneMinBad,
      badRatio: config.finetuneBadRatio,
      windowMinutes: config.finetuneWindowMinutes,
      cooldownMinutes: config.finetuneCooldownMinutes,
      pollSeconds: config.finetunePollSeconds,
      ...(options.autoFineTuneHyperparameters ? { hyperparameters: options.autoFineTuneHyperparameters } : {}),
    },
    concurrency: config.trainerConcurrency,
    jobThreads: jobThreads(config),
    watchKeepaliveSeconds: config.jobKeepaliveSeconds,
    logger,
  });
  return {
    ...running,
    adminToken,
    close: async (graceMs?: number) => {
      await running.close(graceMs);
      await feedback.close();
    },
  };
}

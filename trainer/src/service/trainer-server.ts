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
  type Config,
  type Logger,
} from '@nst/runtime';
import { FeedbackStoreReader } from './feedback-adapter';
import { RegistryAdapter } from './registry-adapter';
import { FineTuneTrigger, type FineTuneThresholds } from './finetune-trigger';
import { createTrainerHandlers } from './trainer-handlers';
import { WorkerJobExecutor } from './job-executor';
import { JobManager, type JobManagerLogger } from './job-manager';
import { jobMetricsListener } from './job-metrics';
import { JobStore } from './job-store';
import type { PaintingLimits } from './painting';
import type { FeedbackReader, TrainerRegistry } from './ports';
import { Trainer } from './trainer';

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
  /** Jobs run at once (default 1). */
  concurrency?: number;
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
  });
  const jobs = new JobManager({ store, executor, logger, concurrency: options.concurrency ?? 1 });
  jobs.onUpdate(jobMetricsListener());
  const trainer = new Trainer({ jobs, store, registry: options.registry, paintingLimits: options.paintingLimits });
  const handlers = createTrainerHandlers({ trainer, jobs, adminToken: options.adminToken, logger });
  const grpc = await startGrpcServer({
    address: options.address,
    services: [{ name: TRAINER_SERVICE_NAME, definition: TrainerServiceService, implementation: handlers.implementation }],
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
export async function startTrainerServer(config: Config, options: StartTrainerOptions = {}): Promise<StartedTrainerService> {
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
    autoFineTune: {
      minBad: config.finetuneMinBad,
      badRatio: config.finetuneBadRatio,
      windowMinutes: config.finetuneWindowMinutes,
      cooldownMinutes: config.finetuneCooldownMinutes,
      pollSeconds: config.finetunePollSeconds,
      ...(options.autoFineTuneHyperparameters ? { hyperparameters: options.autoFineTuneHyperparameters } : {}),
    },
    concurrency: config.trainerConcurrency,
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

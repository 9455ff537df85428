/**
 * gRPC handlers of nst.v1.TrainerService. Mutating calls check the admin token before they
 * read anything else; every failure leaves as a status a client can act on.
 */
import { status, type Metadata, type sendUnaryData, type ServerErrorResponse, type ServerWritableStream } from '@grpc/grpc-js';
import {
  JobKind,
  JobState,
  VersionOrigin,
  type CreateStyleHeader,
  type CreateStyleRequest,
  type Job,
  type StyleVersion,
  type TrainerServiceServer,
  type WatchJobRequest,
  type WatchJobResponse,
} from '@nst/proto';
import { RegistryNotFoundError, RegistryValidationError } from '@nst/runtime';
import { requireAdmin } from './auth';
import type { CatalogueMethods } from './catalogue-handlers';
import { invalidArgument, notFound, TrainerServiceError } from './errors';
import { QueueFullError, type JobManager, type JobManagerLogger } from './job-manager';
import type { JobRecord, JobStateName } from './job-store';
import { checkPaintingSize } from './painting';
import type { VersionInfo } from './ports';
import type { Trainer } from './trainer';

export interface TrainerHandlerDeps {
  trainer: Trainer;
  jobs: JobManager;
  adminToken: string;
  logger: JobManagerLogger;
  /** WatchVersions, FetchModel and KeepPhoto (catalogue-handlers.ts). */
  catalogue: CatalogueMethods;
  /** WatchJob resends the job's state after this long without an update (NST_JOB_KEEPALIVE_SECONDS). */
  watchKeepaliveMs: number;
}

const STATES: Record<JobStateName, JobState> = {
  queued: JobState.JOB_STATE_QUEUED,
  running: JobState.JOB_STATE_RUNNING,
  succeeded: JobState.JOB_STATE_SUCCEEDED,
  failed: JobState.JOB_STATE_FAILED,
  cancelled: JobState.JOB_STATE_CANCELLED,
};

const ORIGINS: Record<VersionInfo['origin'], VersionOrigin> = {
  starter: VersionOrigin.VERSION_ORIGIN_STARTER,
  train: VersionOrigin.VERSION_ORIGIN_TRAINED,
  finetune: VersionOrigin.VERSION_ORIGIN_FINE_TUNED,
};

export function toJob(record: JobRecord): Job {
  return {
    id: record.id,
    kind: record.kind === 'fine-tune' ? JobKind.JOB_KIND_FINE_TUNE : JobKind.JOB_KIND_CREATE_STYLE,
    state: STATES[record.state],
    style: record.style,
    baseVersion: record.baseVersion,
    resultVersion: record.resultVersion,
    step: record.step,
    totalSteps: record.totalSteps,
    losses: Object.fromEntries(Object.entries(record.losses).filter(([, value]) => Number.isFinite(value))),
    imagesPerSecond: record.imagesPerSecond,
    etaSeconds: record.etaSeconds,
    reason: record.reason,
    error: record.error,
    createdAt: new Date(record.createdAt),
    ...(record.startedAt ? { startedAt: new Date(record.startedAt) } : {}),
    ...(record.finishedAt ? { finishedAt: new Date(record.finishedAt) } : {}),
  };
}

export function toStyleVersion(info: VersionInfo): StyleVersion {
  return {
    style: info.style,
    version: info.version,
    parentVersion: info.parentVersion ?? '',
    origin: ORIGINS[info.origin],
    losses: info.losses,
    metrics: info.metrics,
    createdAt: new Date(info.createdAt),
    jobId: info.jobId ?? '',
    reason: info.reason ?? '',
  };
}

export interface TrainerHandlers {
  implementation: TrainerServiceServer;
  /** Ends every open WatchJob stream with UNAVAILABLE (the trainer is stopping). */
  endWatches(): void;
}

export function createTrainerHandlers(deps: TrainerHandlerDeps): TrainerHandlers {
  const { trainer, jobs, logger } = deps;
  const watches = new Set<ServerWritableStream<WatchJobRequest, WatchJobResponse>>();

  const toStatus = (error: unknown, method: string): Partial<ServerErrorResponse> => {
    if (error instanceof TrainerServiceError) return { code: error.code, details: error.message };
    if (error instanceof QueueFullError) return { code: status.RESOURCE_EXHAUSTED, details: error.message };
    // A malformed style id or version (path traversal included) is the caller's mistake, not ours.
    if (error instanceof RegistryValidationError) return { code: status.INVALID_ARGUMENT, details: error.message };
    if (error instanceof RegistryNotFoundError) return { code: status.NOT_FOUND, details: error.message };
    logger.error({ err: error, method }, 'TrainerService call failed');
    return { code: status.INTERNAL, details: `${method} failed inside the trainer; the trainer log has the details` };
  };

  const unary =
    <Req, Res>(method: string, admin: boolean, handle: (request: Req) => Promise<Res>) =>
    (call: { request: Req; metadata: Metadata }, callback: sendUnaryData<Res>): void => {
      Promise.resolve()
        .then(() => {
          if (admin) requireAdmin(call.metadata, deps.adminToken);
          return handle(call.request);
        })
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(toStatus(error, method)),
        );
    };

  const findJob = (id: string): JobRecord => {
    if (!id) throw invalidArgument('job_id is empty');
    const job = jobs.get(id);
    if (!job) throw notFound(`there is no job "${id.slice(0, 80)}"; check the id in the list of jobs`);
    return job;
  };

  const implementation: TrainerServiceServer = {
    ...deps.catalogue,
    createStyle(call, callback) {
      let header: CreateStyleHeader | undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      let failed = false;
      let headerChecked: Promise<void> = Promise.resolve();
      const fail = (error: unknown): void => {
        if (failed) return;
        failed = true;
        callback(toStatus(error, 'CreateStyle'));
        // Stop reading: nothing more the client sends can change the answer.
        call.removeAllListeners('data');
        call.resume();
      };
      try {
        requireAdmin(call.metadata, deps.adminToken);
      } catch (error) {
        fail(error);
        return;
      }
      call.on('data', (message: CreateStyleRequest) => {
        const kind = message.kind;
        try {
          if (!kind) throw invalidArgument('an upload message carries neither a header nor a painting chunk');
          if (kind.$case === 'header') {
            if (header) throw invalidArgument('the header was sent twice; send it once, as the first message');
            header = kind.header;
            // Refuse an unusable style id before the painting is uploaded.
            headerChecked = trainer.checkCreateStyleHeader(header);
            headerChecked.catch(fail);
          } else {
            if (!header) throw invalidArgument('a painting chunk came before the header; send the header first');
            received += kind.paintingChunk.length;
            checkPaintingSize(received, trainer.paintingLimits);
            chunks.push(kind.paintingChunk);
          }
        } catch (error) {
          fail(error);
        }
      });
      call.on('error', () => {
        failed = true;
      });
      call.on('end', () => {
        if (failed) return;
        if (!header) {
          fail(invalidArgument('the stream ended without a header; send a CreateStyleHeader and then the painting'));
          return;
        }
        const complete = header;
        headerChecked
          .then(() => trainer.createStyle(complete, Buffer.concat(chunks)))
          .then(
            (job) => {
              if (!failed) callback(null, { job: toJob(job) });
            },
            (error: unknown) => fail(error),
          );
      });
    },

    createStyleFromImage: unary('CreateStyleFromImage', true, async (request) => {
      if (!request.header) throw invalidArgument('header is missing; describe the new style in it');
      const job = await trainer.createStyle(request.header, request.painting);
      return { job: toJob(job) };
    }),

    fineTune: unary('FineTune', true, async (request) => {
      const job = await trainer.fineTune({
        style: request.style,
        version: request.version,
        reason: request.reason,
        hyperparameters: request.hyperparameters,
        requestId: request.requestId,
      });
      return { job: toJob(job) };
    }),

    watchJob(call: ServerWritableStream<WatchJobRequest, WatchJobResponse>) {
      let job: JobRecord;
      try {
        job = findJob(call.request.jobId);
      } catch (error) {
        call.emit('error', toStatus(error, 'WatchJob'));
        return;
      }
      let lastStep = -1;
      let lastState = '';
      let latest = job;
      // A queued job (or a long step) changes nothing for minutes, and proxies close streams
      // that stay silent that long (Envoy's and many load balancers' idle timeouts): the state
      // is sent again after every quiet interval, which also tells the watcher the trainer lives.
      let keepalive: NodeJS.Timeout | undefined;
      const quiet = (): void => {
        clearTimeout(keepalive);
        keepalive = setTimeout(() => {
          if (call.cancelled || call.destroyed || call.writableEnded) return;
          call.write({ job: toJob(jobs.get(latest.id) ?? latest), previewJpeg: Buffer.alloc(0) });
          quiet();
        }, deps.watchKeepaliveMs);
      };
      const unsubscribe = jobs.watch(job.id, (update) => {
        if (call.cancelled || call.destroyed) return;
        latest = update.job;
        // Progress arrives per step; skip updates that change nothing a watcher sees.
        if (update.job.step === lastStep && update.job.state === lastState && !update.preview) return;
        lastStep = update.job.step;
        lastState = update.job.state;
        call.write({ job: toJob(update.job), previewJpeg: update.preview ? Buffer.from(update.preview) : Buffer.alloc(0) });
        if (['succeeded', 'failed', 'cancelled'].includes(update.job.state)) {
          clearTimeout(keepalive);
          call.end();
        } else {
          quiet();
        }
      });
      watches.add(call);
      const stop = (): void => {
        clearTimeout(keepalive);
        unsubscribe();
        watches.delete(call);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('finish', stop);
    },

    listJobs: unary('ListJobs', false, async (request) => {
      const limit = request.limit > 0 ? Math.min(request.limit, 1000) : 100;
      const wanted = request.state === JobState.JOB_STATE_UNSPECIFIED ? undefined : request.state;
      const list = jobs
        .list()
        .filter((job) => (!request.style || job.style === request.style) && (wanted === undefined || STATES[job.state] === wanted))
        .slice(0, limit);
      return { jobs: list.map(toJob) };
    }),

    getJob: unary('GetJob', false, async (request) => ({ job: toJob(findJob(request.jobId)) })),

    cancelJob: unary('CancelJob', true, async (request) => {
      findJob(request.jobId);
      const job = await jobs.cancel(request.jobId);
      return { job: toJob(job!) };
    }),

    listVersions: unary('ListVersions', false, async (request) => {
      if (!request.style) throw invalidArgument('style is empty; name the style whose versions to list');
      return { versions: (await trainer.versions(request.style)).map(toStyleVersion) };
    }),
  };

  return {
    implementation,
    endWatches() {
      for (const call of watches) {
        call.emit('error', { code: status.UNAVAILABLE, details: 'the trainer is stopping; watch the job again once it is back' });
      }
      watches.clear();
    },
  };
}

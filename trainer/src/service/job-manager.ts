/**
 * The job queue: admits jobs, runs them one at a time by default (training takes every core
 * there is), keeps their state durable in the JobStore, fans progress out to watchers, and
 * cancels them. After a restart, jobs that were running are queued again and resume from
 * their last checkpoint; a job that keeps getting interrupted is failed with the reason.
 */
import { EventEmitter } from 'node:events';
import { SPAN_ATTRIBUTES, withSpan } from '@nst/runtime';
import { FINAL_STATES, type JobRecord, type JobStore } from './job-store';

export interface JobProgress {
  step: number;
  totalSteps: number;
  losses: Record<string, number>;
  imagesPerSec: number;
  etaSeconds: number;
  preview?: Uint8Array;
}

export interface JobRunContext {
  /** Aborted on CancelJob (reason CANCEL_REASON) and on shutdown (reason SHUTDOWN_REASON). */
  signal: AbortSignal;
  /** Whether an earlier attempt of this job may have left a checkpoint to resume from. */
  resume: boolean;
  onProgress(progress: JobProgress): void;
}

/** Runs one job to completion; resolves with the version it registered. */
export interface JobExecutor {
  run(job: JobRecord, context: JobRunContext): Promise<{ resultVersion: string }>;
  /** Frees a job's working files once it failed or was cancelled (kept photos among them). */
  discard?(job: JobRecord): Promise<void>;
}

export interface JobUpdate {
  job: JobRecord;
  /** A preview made since the previous update, if any. */
  preview?: Uint8Array;
}

export interface JobManagerLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface JobManagerOptions {
  store: JobStore;
  executor: JobExecutor;
  logger: JobManagerLogger;
  /** Jobs run at the same time (default 1). */
  concurrency?: number;
  /** Starts of one job before an interrupted job is failed instead of resumed (default 3). */
  maxAttempts?: number;
  /** Queued jobs beyond which new ones are refused (default 20). */
  maxQueued?: number;
  /** Running jobs persist their progress at most this often (default 2000 ms). */
  persistEveryMs?: number;
}

export const CANCEL_REASON = 'cancelled by request';
export const SHUTDOWN_REASON = 'trainer shutting down';

export class QueueFullError extends Error {}

interface RunningJob {
  controller: AbortController;
  done: Promise<void>;
}

export class JobManager {
  private readonly store: JobStore;
  private readonly executor: JobExecutor;
  private readonly logger: JobManagerLogger;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly maxQueued: number;
  private readonly persistEveryMs: number;
  private readonly events = new EventEmitter();
  private readonly running = new Map<string, RunningJob>();
  private readonly lastPersisted = new Map<string, number>();
  private readonly latestPreview = new Map<string, Uint8Array>();
  private closed = false;

  constructor(options: JobManagerOptions) {
    this.store = options.store;
    this.executor = options.executor;
    this.logger = options.logger;
    this.concurrency = options.concurrency ?? 1;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.maxQueued = options.maxQueued ?? 20;
    this.persistEveryMs = options.persistEveryMs ?? 2000;
    // Every WatchJob call listens; the default limit of 10 would warn about a normal load.
    this.events.setMaxListeners(0);
  }

  /** Recovers jobs interrupted by a crash or a stop, then starts the queue. */
  async start(): Promise<void> {
    for (const job of this.store.list()) {
      if (job.state !== 'running') continue;
      if (job.attempts >= this.maxAttempts) {
        await this.finish(job, 'failed', {
          error: `the trainer stopped during this job ${job.attempts} times; it is not resumed again (see the trainer log for what happened)`,
        });
      } else {
        this.logger.info({ jobId: job.id, step: job.step }, 'resuming job interrupted by a restart');
        await this.save({ ...job, state: 'queued' });
      }
    }
    this.pump();
  }

  get(id: string): JobRecord | undefined {
    return this.store.get(id);
  }

  list(): JobRecord[] {
    return this.store.list();
  }

  /** The jobs still to run or running. */
  active(): JobRecord[] {
    return this.store.list().filter((job) => !FINAL_STATES.has(job.state));
  }

  /** Records a new job (state queued) and starts it when a worker is free. */
  async submit(job: JobRecord): Promise<JobRecord> {
    if (this.closed) throw new Error('the trainer is shutting down');
    const queued = this.store.list().filter((j) => j.state === 'queued').length;
    if (queued >= this.maxQueued) {
      throw new QueueFullError(`${queued} jobs are already queued; try again when some have finished`);
    }
    await this.save({ ...job, state: 'queued' });
    this.logger.info({ jobId: job.id, kind: job.kind, style: job.style, reason: job.reason }, 'job queued');
    this.pump();
    return this.store.get(job.id)!;
  }

  /**
   * Cancels a queued or running job and resolves with its final record; a job that already
   * finished is returned as it is.
   */
  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = this.store.get(id);
    if (!job) return undefined;
    if (job.state === 'queued') {
      await this.finish(job, 'cancelled', { error: '' });
    } else if (job.state === 'running') {
      const running = this.running.get(id);
      running?.controller.abort(CANCEL_REASON);
      await running?.done;
    }
    return this.store.get(id);
  }

  /**
   * Calls `listener` with the job now and on every change, until it reaches a final state
   * (then once more, and the subscription ends) or the returned function is called.
   */
  watch(id: string, listener: (update: JobUpdate) => void): () => void {
    const job = this.store.get(id);
    if (!job) throw new Error(`no job ${id}`);
    const preview = this.latestPreview.get(id);
    listener(preview ? { job, preview } : { job });
    if (FINAL_STATES.has(job.state)) return () => undefined;
    const onUpdate = (update: JobUpdate): void => {
      listener(update);
      if (FINAL_STATES.has(update.job.state)) this.events.off(id, onUpdate);
    };
    this.events.on(id, onUpdate);
    return () => this.events.off(id, onUpdate);
  }

  /** Calls `listener` on every change of any job (the fine-tune trigger and logs use it). */
  onUpdate(listener: (update: JobUpdate) => void): () => void {
    this.events.on('*', listener);
    return () => this.events.off('*', listener);
  }

  /**
   * Stops starting jobs and interrupts the running ones; they stay queued with their
   * checkpoint and resume on the next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.running.values()];
    for (const job of running) job.controller.abort(SHUTDOWN_REASON);
    await Promise.all(running.map((job) => job.done));
    await this.store.flush();
  }

  private emit(update: JobUpdate): void {
    this.events.emit(update.job.id, update);
    this.events.emit('*', update);
  }

  private async save(job: JobRecord): Promise<void> {
    await this.store.save(job);
    this.lastPersisted.set(job.id, Date.now());
    this.emit({ job });
  }

  private async finish(job: JobRecord, state: 'succeeded' | 'failed' | 'cancelled', fields: Partial<JobRecord>): Promise<void> {
    this.latestPreview.delete(job.id);
    this.lastPersisted.delete(job.id);
    await this.save({ ...job, ...fields, state, etaSeconds: 0, finishedAt: new Date().toISOString() });
    if (state !== 'succeeded' && this.executor.discard) {
      await this.executor.discard(job).catch((error: unknown) => this.logger.warn({ jobId: job.id, err: error }, 'could not remove job files'));
    }
  }

  private pump(): void {
    if (this.closed) return;
    while (this.running.size < this.concurrency) {
      // Oldest queued job first.
      const next = this.store
        .list()
        .reverse()
        .find((job) => job.state === 'queued' && !this.running.has(job.id));
      if (!next) return;
      const controller = new AbortController();
      const entry: RunningJob = { controller, done: Promise.resolve() };
      this.running.set(next.id, entry);
      entry.done = this.runJob(next, controller).finally(() => {
        this.running.delete(next.id);
        this.pump();
      });
    }
  }

  private async runJob(queued: JobRecord, controller: AbortController): Promise<void> {
    const resume = queued.attempts > 0;
    let job: JobRecord = {
      ...queued,
      state: 'running',
      attempts: queued.attempts + 1,
      startedAt: queued.startedAt ?? new Date().toISOString(),
      error: '',
    };
    await this.save(job);
    this.logger.info({ jobId: job.id, kind: job.kind, style: job.style, attempt: job.attempts, resume }, 'job started');
    const onProgress = (progress: JobProgress): void => {
      job = {
        ...job,
        step: progress.step,
        totalSteps: progress.totalSteps,
        losses: progress.losses,
        imagesPerSecond: progress.imagesPerSec,
        etaSeconds: progress.etaSeconds,
      };
      if (progress.preview) this.latestPreview.set(job.id, progress.preview);
      const now = Date.now();
      if (now - (this.lastPersisted.get(job.id) ?? 0) >= this.persistEveryMs) {
        this.lastPersisted.set(job.id, now);
        this.store.save(job).catch((error: unknown) => this.logger.warn({ jobId: job.id, err: error }, 'could not persist job progress'));
      } else {
        this.store.remember(job);
      }
      this.emit(progress.preview ? { job, preview: progress.preview } : { job });
    };
    try {
      // Each job is a trace of its own (it outlives the call that queued it); phases are its children.
      const { resultVersion } = await withSpan(
        'training job',
        { [SPAN_ATTRIBUTES.job]: job.id, [SPAN_ATTRIBUTES.style]: job.style, 'nst.job_kind': job.kind, 'nst.attempt': job.attempts },
        () => this.executor.run(job, { signal: controller.signal, resume, onProgress }),
      );
      await this.finish(job, 'succeeded', { resultVersion, step: job.totalSteps || job.step });
      this.logger.info({ jobId: job.id, style: job.style, version: resultVersion }, 'job succeeded');
    } catch (error) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
      if (reason === SHUTDOWN_REASON) {
        // Leave it for the next start: its checkpoint is on disk.
        await this.save({ ...job, state: 'queued', etaSeconds: 0 });
        this.logger.info({ jobId: job.id, step: job.step }, 'job interrupted by shutdown; it resumes on the next start');
      } else if (reason === CANCEL_REASON) {
        await this.finish(job, 'cancelled', {});
        this.logger.info({ jobId: job.id }, 'job cancelled');
      } else {
        const message = error instanceof Error ? error.message : String(error);
        await this.finish(job, 'failed', { error: message });
        this.logger.error({ jobId: job.id, err: error }, 'job failed');
      }
    }
  }
}

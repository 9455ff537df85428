/**
 * Trainer commands: `nst train` (upload a painting, then watch the job live), `nst finetune`,
 * `nst watch`, `nst jobs`, `nst cancel` and `nst versions`.
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  JobKind,
  JobState,
  LossNetwork,
  StylePooling,
  StyleStatistic,
  VersionOrigin,
  jobStateToJSON,
  type CreateStyleRequest,
  type Hyperparameters,
  type Job,
  type WatchJobResponse,
} from '@nst/proto';
import type { CliContext } from '../context';
import { formatDate, formatLosses, formatNumber, formatSeconds, table } from '../format';
import { adminMetadata, CliError, describeFailure, unary } from '../grpc';

/** Upload slices for the painting (under gRPC's 4 MB message limit). */
const PAINTING_CHUNK_BYTES = 256 * 1024;

export interface TrainingFlags {
  steps?: number;
  batchSize?: number;
  imageSize?: number;
  learningRate?: number;
  contentWeight?: number;
  styleWeight?: number;
  tvWeight?: number;
  seed?: number;
  lossNetwork?: 'imagenet' | 'random';
  styleScale?: number;
  styleStatistic?: 'sliced' | 'covariance';
  stylePooling?: 'image' | 'batch';
}

export function hyperparameters(flags: TrainingFlags): Hyperparameters {
  const h: Hyperparameters = {};
  if (flags.steps !== undefined) h.steps = flags.steps;
  if (flags.batchSize !== undefined) h.batchSize = flags.batchSize;
  if (flags.imageSize !== undefined) h.imageSize = flags.imageSize;
  if (flags.learningRate !== undefined) h.learningRate = flags.learningRate;
  if (flags.contentWeight !== undefined) h.contentWeight = flags.contentWeight;
  if (flags.styleWeight !== undefined) h.styleWeight = flags.styleWeight;
  if (flags.tvWeight !== undefined) h.tvWeight = flags.tvWeight;
  if (flags.seed !== undefined) h.seed = flags.seed;
  if (flags.lossNetwork !== undefined) h.lossNetwork = flags.lossNetwork === 'random' ? LossNetwork.LOSS_NETWORK_RANDOM : LossNetwork.LOSS_NETWORK_IMAGENET;
  if (flags.styleScale !== undefined) h.styleScale = flags.styleScale;
  if (flags.styleStatistic !== undefined) {
    h.styleStatistic = flags.styleStatistic === 'sliced' ? StyleStatistic.STYLE_STATISTIC_SLICED : StyleStatistic.STYLE_STATISTIC_COVARIANCE;
  }
  if (flags.stylePooling !== undefined) h.stylePooling = flags.stylePooling === 'batch' ? StylePooling.STYLE_POOLING_BATCH : StylePooling.STYLE_POOLING_IMAGE;
  return h;
}

export const stateName = (state: JobState): string => jobStateToJSON(state).replace('JOB_STATE_', '').toLowerCase();
const kindName = (kind: JobKind): string => (kind === JobKind.JOB_KIND_FINE_TUNE ? 'fine-tune' : 'create-style');
const ORIGIN_NAMES: Partial<Record<VersionOrigin, string>> = {
  [VersionOrigin.VERSION_ORIGIN_STARTER]: 'starter',
  [VersionOrigin.VERSION_ORIGIN_TRAINED]: 'trained',
  [VersionOrigin.VERSION_ORIGIN_FINE_TUNED]: 'fine-tuned',
};
const originName = (origin: VersionOrigin): string => ORIGIN_NAMES[origin] ?? '-';

export interface TrainOptions extends TrainingFlags {
  name: string;
  displayName?: string;
  description?: string;
  watch: boolean;
}

/** `nst train <painting> --name <id>`: creates a style and watches its training job. */
export async function train(ctx: CliContext, painting: string, options: TrainOptions): Promise<void> {
  let size: number;
  try {
    size = (await stat(painting)).size;
  } catch {
    throw new CliError(`${painting} does not exist`);
  }
  const metadata = adminMetadata(ctx.token);
  const job = await new Promise<Job | undefined>((resolve, reject) => {
    const call = ctx.trainer.client.createStyle(metadata, { deadline: new Date(Date.now() + 120_000) }, (error, response) =>
      error ? reject(describeFailure(error, ctx.trainer.name, ctx.trainer.address)) : resolve(response.job),
    );
    const send = async (): Promise<void> => {
      const header: CreateStyleRequest = {
        kind: {
          $case: 'header',
          header: {
            styleId: options.name,
            displayName: options.displayName ?? options.name,
            description: options.description ?? `Trained from ${path.basename(painting)}.`,
            hyperparameters: hyperparameters(options),
          },
        },
      };
      call.write(header);
      const file = await open(painting, 'r');
      try {
        for await (const chunk of file.createReadStream({ highWaterMark: PAINTING_CHUNK_BYTES })) {
          if (!call.write({ kind: { $case: 'paintingChunk', paintingChunk: chunk as Buffer } })) {
            await new Promise<void>((resolve) => call.once('drain', resolve));
          }
        }
      } finally {
        await file.close();
      }
      call.end();
    };
    send().catch((error: unknown) => {
      call.cancel();
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
  if (!job) throw new CliError('TrainerService accepted the painting but returned no job');
  ctx.print(`Uploaded ${path.basename(painting)} (${size} bytes); job ${job.id} trains style ${job.style} (${job.totalSteps} steps).`);
  if (options.watch) await watch(ctx, job.id);
  else ctx.print(`Follow it with \`nst watch ${job.id}\`.`);
}

export interface FineTuneOptions extends TrainingFlags {
  version?: string;
  reason?: string;
  /** FineTuneRequest.request_id: the same id gets the same job back (a retried Job's pod). */
  requestId?: string;
  watch: boolean;
}

/** `nst finetune <style>`: fine-tunes a version on the photos rated bad plus the regular set. */
export async function fineTune(ctx: CliContext, style: string, options: FineTuneOptions): Promise<void> {
  const { job } = await unary(
    ctx.trainer,
    ctx.trainer.client.fineTune,
    {
      style,
      version: options.version ?? '',
      reason: options.reason ?? 'requested from the nst CLI',
      hyperparameters: hyperparameters(options),
      requestId: options.requestId ?? '',
    },
    adminMetadata(ctx.token),
  );
  if (!job) throw new CliError('TrainerService returned no job');
  ctx.print(`Job ${job.id} fine-tunes ${job.style} version ${job.baseVersion} (${job.totalSteps} steps).`);
  if (options.watch) await watch(ctx, job.id);
  else ctx.print(`Follow it with \`nst watch ${job.id}\`.`);
}

/**
 * One status line, at most `width` characters so it never wraps (a wrapped line breaks the
 * `\r` redraw): state, step, the total loss, throughput and ETA; the parts at the end are
 * dropped first when the terminal is narrow. The per-term losses are in `nst jobs`/the web app.
 */
export function progressLine(job: Job, width = 80): string {
  const parts = [`${stateName(job.state)} step ${job.step}/${job.totalSteps}`];
  const total = job.losses['total'] ?? Object.values(job.losses)[0];
  if (total !== undefined) parts.push(`loss ${formatNumber(total)}`);
  if (job.imagesPerSecond > 0) parts.push(`${formatNumber(job.imagesPerSecond)} img/s`);
  if (job.etaSeconds > 0) parts.push(`ETA ${formatSeconds(job.etaSeconds)}`);
  // Leave the last column free: some terminals wrap when a line fills it.
  const limit = Math.max(width - 1, 20);
  while (parts.length > 1 && parts.join('  ').length > limit) parts.pop();
  return parts.join('  ').slice(0, limit);
}

/**
 * `nst watch <job>`: prints the job's progress until it finishes. Ctrl-C stops watching only;
 * the job keeps running on the trainer.
 */
export async function watch(ctx: CliContext, jobId: string): Promise<void> {
  const call = ctx.trainer.client.watchJob({ jobId });
  const onInterrupt = (): void => {
    ctx.note(`\nStopped watching; job ${jobId} keeps running. Resume with \`nst watch ${jobId}\`.`);
    call.cancel();
  };
  process.once('SIGINT', onInterrupt);
  let last: Job | undefined;
  let previews = 0;
  let lastLine = '';
  try {
    await new Promise<void>((resolve, reject) => {
      call.on('data', (update: WatchJobResponse) => {
        if (!update.job) return;
        last = update.job;
        if (update.previewJpeg.length > 0) previews += 1;
        const line = progressLine(update.job, (ctx.interactive && process.stderr.columns) || 80);
        if (line === lastLine) return;
        lastLine = line;
        if (ctx.interactive) process.stderr.write(`\r\x1b[2K${line}`);
        else ctx.note(line);
      });
      call.on('error', (error) => reject(describeFailure(error, ctx.trainer.name, ctx.trainer.address)));
      call.on('end', () => resolve());
    });
  } catch (error) {
    if ((error as Error).message.includes('(CANCELLED)')) return;
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
    if (ctx.interactive) process.stderr.write('\n');
  }
  if (!last) throw new CliError(`TrainerService sent nothing about job ${jobId}`);
  switch (last.state) {
    case JobState.JOB_STATE_SUCCEEDED:
      ctx.print(`Job ${jobId} succeeded: ${last.style} version ${last.resultVersion} is registered (${previews} previews seen).`);
      return;
    case JobState.JOB_STATE_FAILED:
      throw new CliError(`job ${jobId} failed: ${last.error}`);
    case JobState.JOB_STATE_CANCELLED:
      throw new CliError(`job ${jobId} was cancelled`);
    default:
      throw new CliError(`the trainer stopped reporting on job ${jobId} while it was ${stateName(last.state)}; see \`nst jobs\``);
  }
}

export interface ListJobsOptions {
  style?: string;
  state?: string;
  limit?: number;
}

/** `nst jobs`: the newest jobs first. */
export async function listJobs(ctx: CliContext, options: ListJobsOptions): Promise<void> {
  let state = JobState.JOB_STATE_UNSPECIFIED;
  if (options.state) {
    const match = Object.values(JobState).find((s) => typeof s === 'number' && stateName(s) === options.state!.toLowerCase());
    if (match === undefined || match === JobState.JOB_STATE_UNSPECIFIED) {
      throw new CliError(`--state must be one of queued, running, succeeded, failed, cancelled; not "${options.state}"`);
    }
    state = match as JobState;
  }
  const { jobs } = await unary(ctx.trainer, ctx.trainer.client.listJobs, { style: options.style ?? '', state, limit: options.limit ?? 0 });
  if (jobs.length === 0) {
    ctx.print('No jobs.');
    return;
  }
  ctx.print(
    table(
      ['job', 'kind', 'style', 'state', 'step', 'from', 'result', 'created', 'note'],
      jobs.map((j) => [
        j.id,
        kindName(j.kind),
        j.style,
        stateName(j.state),
        `${j.step}/${j.totalSteps}`,
        j.baseVersion || '-',
        j.resultVersion || '-',
        formatDate(j.createdAt),
        j.state === JobState.JOB_STATE_FAILED ? j.error : j.reason,
      ]),
    ),
  );
}

/**
 * `nst cancel <job>`. The trainer answers a job that had already finished with the job as it
 * is; that is not a cancellation, so it fails with a sentence (a script must not read "done").
 */
export async function cancelJob(ctx: CliContext, jobId: string): Promise<void> {
  const { job } = await unary(ctx.trainer, ctx.trainer.client.cancelJob, { jobId }, adminMetadata(ctx.token), 120_000);
  if (!job) throw new CliError('TrainerService returned no job');
  switch (job.state) {
    case JobState.JOB_STATE_CANCELLED:
      ctx.print(`Job ${job.id} is cancelled.`);
      return;
    case JobState.JOB_STATE_FAILED:
      throw new CliError(`job ${job.id} had already failed, so there was nothing to cancel${job.error ? `: ${job.error}` : ''}`);
    case JobState.JOB_STATE_SUCCEEDED:
      throw new CliError(
        `job ${job.id} had already succeeded (${job.style} version ${job.resultVersion}), so there was nothing to cancel`,
      );
    default:
      throw new CliError(`job ${job.id} is still ${stateName(job.state)}; the trainer did not cancel it, try again`);
  }
}

/** `nst versions <style>`: lineage and metrics, oldest first. */
export async function listVersions(ctx: CliContext, style: string): Promise<void> {
  const { versions } = await unary(ctx.trainer, ctx.trainer.client.listVersions, { style });
  if (versions.length === 0) {
    ctx.print(`Style ${style} has no versions yet.`);
    return;
  }
  ctx.print(
    table(
      ['version', 'parent', 'origin', 'created', 'job', 'losses', 'metrics', 'reason'],
      versions.map((v) => [
        v.version,
        v.parentVersion || '-',
        originName(v.origin),
        formatDate(v.createdAt),
        v.jobId || '-',
        Object.keys(v.losses).length > 0 ? formatLosses(v.losses) : '-',
        Object.entries(v.metrics)
          .map(([k, value]) => `${k} ${formatNumber(value)}`)
          .join('  ') || '-',
        v.reason || '-',
      ]),
    ),
  );
}

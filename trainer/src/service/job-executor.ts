/**
 * Runs a job: gathers its inputs into the job's folder (style image, base weights for a
 * fine-tune, the frozen photo set), trains in a worker thread, and registers the result as a
 * new immutable version with its lineage, hyperparameters, losses and data hashes.
 */
import { constants } from 'node:fs';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { JobExecutor, JobManagerLogger, JobRunContext } from './job-manager';
import type { JobRecord } from './job-store';
import type { FeedbackReader, TrainerRegistry } from './ports';
import { SPAN_ATTRIBUTES, withSpan } from '@nst/runtime';
import { JOB_FILES } from './job-files';
import { paintingThumbnail } from './painting';
import { freezePhotoSet, hasFrozenPhotoSet, regularPhotos } from './photo-set';
import type { WorkerJobSpec, WorkerMessage, WorkerResult } from './worker-protocol';

export interface WorkerJobExecutorOptions {
  registry: TrainerRegistry;
  feedback: FeedbackReader;
  /** Folder of regular training photos; the starter photos when absent. */
  photosDir?: string;
  logger: JobManagerLogger;
  /** Checkpoint every this many steps (default 25). */
  checkpointEvery?: number;
  /** Preview every this many steps (default 10). */
  previewEvery?: number;
  /** WASM threads of each job (default: NST_TRAIN_THREADS as the backend reads it, else 1). */
  threads?: number;
  /** How long an aborted worker may take to checkpoint and stop before it is terminated. */
  abortGraceMs?: number;
}

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
const WORKER_ENTRY = new URL('./worker.ts', import.meta.url).href;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export class WorkerJobExecutor implements JobExecutor {
  constructor(
    private readonly jobsRoot: string,
    private readonly options: WorkerJobExecutorOptions,
  ) {}

  async run(job: JobRecord, context: JobRunContext): Promise<{ resultVersion: string }> {
    const { registry } = this.options;
    const dir = path.join(this.jobsRoot, job.id);

    // A crash between registering and recording success must not register twice.
    const already = (await registry.listVersions(job.style))?.find((v) => v.jobId === job.id);
    if (already) return { resultVersion: already.version };

    const styleImageFile = path.join(dir, JOB_FILES.styleImage);
    let initialWeightsFile: string | undefined;
    if (job.kind === 'fine-tune') {
      if (!(await exists(styleImageFile))) await writeFile(styleImageFile, await registry.readStyleImage(job.style));
      initialWeightsFile = path.join(dir, JOB_FILES.baseWeights);
      if (!(await exists(initialWeightsFile))) await writeFile(initialWeightsFile, await registry.readWeights(job.style, job.baseVersion));
    } else if (!(await exists(styleImageFile))) {
      throw new Error(`the painting of job ${job.id} is missing from ${dir}; create the style again`);
    }
    const photosDir = path.join(dir, JOB_FILES.photos);
    const feedbackFile = path.join(dir, JOB_FILES.feedbackIds);
    let feedbackIds: string[] = [];
    if (!(await hasFrozenPhotoSet(photosDir))) {
      await withSpan('training phase photo set', { [SPAN_ATTRIBUTES.phase]: 'photo set', [SPAN_ATTRIBUTES.job]: job.id }, async (photoSpan) => {
        const regular = await regularPhotos(this.options.photosDir);
        const bad = job.kind === 'fine-tune' ? await this.options.feedback.consentedBadPhotos(job.style) : [];
        const held: string[] = [];
        for (const rating of bad) {
          if (rating.photoPath && (await exists(rating.photoPath))) {
            held.push(rating.photoPath);
            feedbackIds.push(rating.id);
          }
        }
        await writeFile(feedbackFile, JSON.stringify(feedbackIds));
        await freezePhotoSet(photosDir, [...regular, ...held]);
        photoSpan.setAttributes({ 'nst.photos': regular.length + held.length, 'nst.rated_bad_photos': held.length });
        this.options.logger.info({ jobId: job.id, regularPhotos: regular.length, ratedBadPhotos: held.length }, 'training photo set frozen');
      });
    } else {
      feedbackIds = JSON.parse(await readFile(feedbackFile, 'utf8').catch(() => '[]')) as string[];
    }

    const spec: WorkerJobSpec = {
      entry: WORKER_ENTRY,
      jobId: job.id,
      styleImageFile,
      photosDir,
      checkpointDir: path.join(dir, JOB_FILES.checkpoint),
      resume: context.resume,
      ...(initialWeightsFile ? { initialWeightsFile } : {}),
      hyperparameters: job.hyperparameters,
      checkpointEvery: this.options.checkpointEvery ?? 25,
      previewEvery: this.options.previewEvery ?? 10,
      ...(this.options.threads ? { threads: this.options.threads } : {}),
    };
    const result = await withSpan('training phase train', { [SPAN_ATTRIBUTES.phase]: 'train', [SPAN_ATTRIBUTES.job]: job.id }, () =>
      this.runWorker(spec, context),
    );
    const training = result.metadata;
    if (result.int8Error) this.options.logger.warn({ jobId: job.id, err: result.int8Error }, 'no INT8 model for this version (it serves FP32)');
    const styleImage = new Uint8Array(await readFile(styleImageFile));

    const version = await withSpan('training phase register', { [SPAN_ATTRIBUTES.phase]: 'register', [SPAN_ATTRIBUTES.job]: job.id }, async () => registry.registerVersion({
      style: job.style,
      ...(job.kind === 'create-style'
        ? {
            newStyle: {
              displayName: job.displayName || job.style,
              description: job.description,
              origin: `uploaded to TrainerService.CreateStyle (job ${job.id})`,
              licence: 'as supplied by the uploader',
              styleImage,
              thumbnail: await paintingThumbnail(styleImage),
            },
          }
        : { parentVersion: job.baseVersion }),
      origin: job.kind === 'fine-tune' ? 'finetune' : 'train',
      jobId: job.id,
      reason: job.reason,
      onnx: result.onnx,
      weights: result.weights,
      ...(result.int8
        ? { derivedModels: { int8: { ...result.int8.info, model: result.int8.model } }, servePrecision: result.int8.info.passed ? 'int8' : 'fp32' }
        : {}),
      exporterVersion: result.exporterVersion,
      network: (training['hyperparameters'] as { config?: Record<string, unknown> } | undefined)?.config ?? {},
      losses: Object.fromEntries(Object.entries(result.losses).filter(([, value]) => Number.isFinite(value))),
      hyperparameters: { ...job.hyperparameters, ...(training['hyperparameters'] as Record<string, unknown>) },
      dataHashes: {
        styleImage: String(training['styleSha256']),
        photos: String(training['photosSha256']),
        photoCount: training['photoCount'],
        ratedBadPhotos: feedbackIds.length,
        feedbackIds,
        ...(job.trigger ? { trigger: job.trigger } : {}),
        backend: training['backend'],
        // msPerStep means little without the threads it was measured on.
        ...(training['threads'] !== undefined ? { threads: training['threads'] } : {}),
        msPerStep: training['msPerStep'],
        ...(training['resumedFromStep'] !== undefined ? { resumedFromStep: training['resumedFromStep'] } : {}),
      },
    }));
    // The version holds what matters now; the working copies only take space.
    await this.discard(job);
    return { resultVersion: version };
  }

  /**
   * Removes the job's working copies: the frozen photo set (kept photos must not outlive their
   * retention in a job folder), the checkpoint and the base weights. The record stays.
   */
  async discard(job: JobRecord): Promise<void> {
    const dir = path.join(this.jobsRoot, job.id);
    await Promise.all(
      [JOB_FILES.photos, `${JOB_FILES.photos}.building`, JOB_FILES.checkpoint, JOB_FILES.baseWeights].map((name) =>
        rm(path.join(dir, name), { recursive: true, force: true }),
      ),
    );
  }

  private runWorker(spec: WorkerJobSpec, context: JobRunContext): Promise<WorkerResult> {
    return new Promise<WorkerResult>((resolve, reject) => {
      const worker = new Worker(BOOTSTRAP, { workerData: spec, name: `job ${spec.jobId}` });
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        context.signal.removeEventListener('abort', onAbort);
        clearTimeout(killTimer);
        outcome();
        void worker.terminate();
      };
      const abortError = (): Error => new Error(String(context.signal.reason ?? 'aborted'));
      const onAbort = (): void => {
        // Ask for a checkpoint and a clean stop between steps; force it if that takes too long.
        worker.postMessage({ type: 'abort', reason: String(context.signal.reason) });
        killTimer = setTimeout(() => settle(() => reject(abortError())), this.options.abortGraceMs ?? 30_000);
      };
      if (context.signal.aborted) onAbort();
      else context.signal.addEventListener('abort', onAbort, { once: true });

      worker.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'progress':
            context.onProgress({
              step: message.step,
              totalSteps: message.totalSteps,
              losses: message.losses,
              imagesPerSec: message.imagesPerSec,
              etaSeconds: message.etaSeconds,
              ...(message.preview ? { preview: message.preview } : {}),
            });
            break;
          case 'result':
            settle(() => resolve(message));
            break;
          case 'failed':
            settle(() => reject(message.aborted && context.signal.aborted ? abortError() : new Error(message.message)));
            break;
        }
      });
      worker.on('error', (error) => settle(() => reject(error)));
      worker.on('exit', (code) => settle(() => reject(new Error(`the training worker stopped unexpectedly (exit code ${code})`))));
    });
  }
}

/**
 * TrainerService's behaviour, apart from gRPC: checks requests, stores a new style's painting
 * with its job, resolves the version a fine-tune starts from, and reports versions with their
 * lineage. The gRPC handlers (trainer-handlers.ts) and the fine-tune trigger both call it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CreateStyleHeader, Hyperparameters } from '@nst/proto';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from './errors';
import { resolveHyperparameters } from './hyperparameters';
import type { JobManager } from './job-manager';
import { newJobId, type JobRecord, type JobStore, type TriggerEvidence } from './job-store';
import { checkPainting, normalisePainting, type PaintingLimits } from './painting';
import { JOB_FILES } from './job-files';
import type { TrainerRegistry, VersionInfo } from './ports';

/** Style ids name folders and URLs: lower-case letters, digits and inner dashes. */
export const STYLE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const MAX_TEXT = 500;

export interface FineTuneInput {
  style: string;
  /** The version to start from; the latest when empty. */
  version: string;
  reason: string;
  hyperparameters: Hyperparameters | undefined;
  trigger?: TriggerEvidence;
  /** FineTuneRequest.request_id: the same id gets the same job back; empty or absent: a new job. */
  requestId?: string;
}

/** What a request id may hold (it is logged and stored in the job record). */
export const REQUEST_ID = /^[A-Za-z0-9._:/-]{1,128}$/;

export interface TrainerDeps {
  jobs: JobManager;
  store: JobStore;
  registry: TrainerRegistry;
  paintingLimits: PaintingLimits;
}

function blankJob(kind: JobRecord['kind'], style: string): Omit<JobRecord, 'hyperparameters' | 'totalSteps'> {
  return {
    id: newJobId(),
    kind,
    state: 'queued',
    style,
    displayName: '',
    description: '',
    baseVersion: '',
    resultVersion: '',
    reason: '',
    error: '',
    step: 0,
    losses: {},
    imagesPerSecond: 0,
    etaSeconds: 0,
    createdAt: new Date().toISOString(),
    attempts: 0,
  };
}

export class Trainer {
  /** Fine-tunes being queued per request id, so two calls with one id at once make one job. */
  private readonly pendingRequests = new Map<string, Promise<JobRecord>>();

  constructor(private readonly deps: TrainerDeps) {}

  get paintingLimits(): PaintingLimits {
    return this.deps.paintingLimits;
  }

  /** Checks a CreateStyle header before any painting bytes are accepted. */
  async checkCreateStyleHeader(header: CreateStyleHeader): Promise<void> {
    if (!header.styleId) throw invalidArgument('style_id is empty; name the new style, for example "blue-period"');
    if (!STYLE_ID.test(header.styleId)) {
      throw invalidArgument(
        `style_id "${header.styleId.slice(0, 80)}" is not valid; use 1 to 64 lower-case letters, digits and dashes, starting and ending with a letter or digit`,
      );
    }
    if (header.displayName.length > MAX_TEXT || header.description.length > MAX_TEXT) {
      throw invalidArgument(`display_name and description may have at most ${MAX_TEXT} characters each`);
    }
    resolveHyperparameters('create-style', header.hyperparameters);
    if (await this.deps.registry.hasStyle(header.styleId)) {
      throw alreadyExists(`style "${header.styleId}" already exists; fine-tune it instead, or choose another name`);
    }
    const pending = this.deps.jobs.active().find((job) => job.kind === 'create-style' && job.style === header.styleId);
    if (pending) throw alreadyExists(`job ${pending.id} is already training style "${header.styleId}"; follow that job instead`);
  }

  /** Queues a job that trains a new style from `painting`. */
  async createStyle(header: CreateStyleHeader, painting: Uint8Array): Promise<JobRecord> {
    await this.checkCreateStyleHeader(header);
    const checked = await checkPainting(painting, this.deps.paintingLimits);
    const hyperparameters = resolveHyperparameters('create-style', header.hyperparameters);
    const job: JobRecord = {
      ...blankJob('create-style', header.styleId),
      displayName: header.displayName || header.styleId,
      description: header.description,
      reason: `new style from a ${checked.width}x${checked.height} ${checked.format} painting`,
      hyperparameters,
      totalSteps: hyperparameters.steps,
    };
    const dir = this.deps.store.dir(job.id);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, JOB_FILES.styleImage), await normalisePainting(painting, this.deps.paintingLimits));
    return this.deps.jobs.submit(job);
  }

  /**
   * Queues a job that fine-tunes a version (the latest by default) into a new version. With a
   * request id it is idempotent: the job an earlier call with that id queued (found in the job
   * store, which is durable, so also after a restart) is returned instead of a new one.
   */
  async fineTune(input: FineTuneInput): Promise<JobRecord> {
    const requestId = input.requestId ?? '';
    if (!requestId) return this.queueFineTune(input);
    if (!REQUEST_ID.test(requestId)) {
      throw invalidArgument(
        `request_id "${requestId.slice(0, 80)}" is not valid; use 1 to 128 letters, digits and . _ : / - (a UUID or a Job's uid will do)`,
      );
    }
    const pending = this.pendingRequests.get(requestId);
    if (pending) return this.sameRequest(await pending, input);
    const earlier = this.deps.store.list().find((job) => job.requestId === requestId);
    if (earlier) return this.sameRequest(earlier, input);
    const queued = this.queueFineTune(input);
    this.pendingRequests.set(requestId, queued);
    try {
      return await queued;
    } finally {
      this.pendingRequests.delete(requestId);
    }
  }

  /** The job an earlier request with the same id made, if it asked for the same fine-tune. */
  private sameRequest(job: JobRecord, input: FineTuneInput): JobRecord {
    if (job.kind !== 'fine-tune' || job.style !== input.style || (input.version !== '' && input.version !== job.baseVersion)) {
      throw invalidArgument(
        `request_id "${input.requestId}" was already used for job ${job.id} (${job.kind} of ${job.style}${job.baseVersion ? ` version ${job.baseVersion}` : ''}); ` +
          'send a new request id for a different fine-tune',
      );
    }
    return this.deps.store.get(job.id) ?? job;
  }

  private async queueFineTune(input: FineTuneInput): Promise<JobRecord> {
    if (!input.style) throw invalidArgument('style is empty; name the style to fine-tune');
    if (input.reason.length > MAX_TEXT) throw invalidArgument(`reason may have at most ${MAX_TEXT} characters`);
    const versions = await this.versions(input.style);
    const base = input.version ? versions.find((v) => v.version === input.version) : versions.at(-1);
    if (!base) {
      throw notFound(
        `style "${input.style}" has no version "${input.version}"; its versions are: ${versions.map((v) => v.version).join(', ')}`,
      );
    }
    const hyperparameters = resolveHyperparameters('fine-tune', input.hyperparameters, base.training);
    const pending = this.deps.jobs
      .active()
      .find((job) => job.kind === 'fine-tune' && job.style === input.style && job.baseVersion === base.version);
    if (pending) {
      throw failedPrecondition(`job ${pending.id} is already fine-tuning ${input.style} version ${base.version}; follow that job instead`);
    }
    const job: JobRecord = {
      ...blankJob('fine-tune', input.style),
      baseVersion: base.version,
      reason: input.reason || 'fine-tune requested',
      hyperparameters,
      totalSteps: hyperparameters.steps,
      ...(input.trigger ? { trigger: input.trigger } : {}),
      ...(input.requestId ? { requestId: input.requestId } : {}),
    };
    return this.deps.jobs.submit(job);
  }

  /** The style's versions, oldest first; NOT_FOUND for an unknown style. */
  async versions(style: string): Promise<VersionInfo[]> {
    const versions = await this.deps.registry.listVersions(style);
    if (!versions || versions.length === 0) throw notFound(`style "${style}" does not exist or has no versions yet`);
    return versions;
  }
}

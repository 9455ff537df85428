/**
 * Durable job records: one folder per job under `<data>/trainer/jobs/<id>/` holding
 * `job.json` (the record, written atomically: temp file, fsync, rename) next to the job's
 * inputs (the painting, the frozen photo set) and its training checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedHyperparameters } from './hyperparameters';

export type JobKindName = 'create-style' | 'fine-tune';
export type JobStateName = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const FINAL_STATES: ReadonlySet<JobStateName> = new Set(['succeeded', 'failed', 'cancelled']);

/** What the automatic fine-tune trigger saw when it started a job. */
export interface TriggerEvidence {
  bad: number;
  total: number;
  windowMinutes: number;
}

export interface JobRecord {
  id: string;
  kind: JobKindName;
  state: JobStateName;
  style: string;
  /** For new styles: the name and description to register. */
  displayName: string;
  description: string;
  /** For fine-tunes: the version it starts from. */
  baseVersion: string;
  resultVersion: string;
  reason: string;
  error: string;
  hyperparameters: ResolvedHyperparameters;
  step: number;
  totalSteps: number;
  losses: Record<string, number>;
  imagesPerSecond: number;
  etaSeconds: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many times the job was started; a job that keeps dying on restart is failed. */
  attempts: number;
  /** Set by the fine-tune trigger. */
  trigger?: TriggerEvidence;
  /** Feedback ids whose consented photos joined the training set. */
  feedbackIds?: string[];
  /** The caller's FineTuneRequest.request_id: a retry with the same id gets this job back. */
  requestId?: string;
}

/** A record as older versions wrote it: before the loss network and style scale were settings. */
type StoredJobRecord = Omit<JobRecord, 'hyperparameters'> & {
  hyperparameters: Omit<ResolvedHyperparameters, 'lossNetwork' | 'styleScale'> & Partial<Pick<ResolvedHyperparameters, 'lossNetwork' | 'styleScale'>>;
};

/** Sortable, readable ids: creation time to the second, then randomness. */
export function newJobId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

const JOB_ID = /^[0-9TZ]{16}-[0-9a-f]{6}$/;

export async function writeFileAtomic(file: string, contents: string | Uint8Array): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  /** Writes of one job are chained so an older snapshot never lands after a newer one. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(readonly root: string) {}

  /** Opens the store and loads every job record under `root`. */
  static async open(root: string): Promise<JobStore> {
    const store = new JobStore(root);
    await mkdir(root, { recursive: true });
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !JOB_ID.test(entry.name)) continue;
      try {
        const stored = JSON.parse(await readFile(path.join(root, entry.name, 'job.json'), 'utf8')) as StoredJobRecord;
        // Jobs queued before the loss was a setting trained on the random network.
        const record: JobRecord = { ...stored, hyperparameters: { lossNetwork: 'random', styleScale: 1, ...stored.hyperparameters } };
        store.jobs.set(record.id, record);
      } catch (error) {
        // A folder without a record is a job whose creation was interrupted: drop it.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') await rm(path.join(root, entry.name), { recursive: true, force: true });
        else throw error;
      }
    }
    return store;
  }

  dir(id: string): string {
    return path.join(this.root, id);
  }

  get(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  /** Newest first. */
  list(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  }

  /** Updates the job in memory only (frequent progress; a later save makes it durable). */
  remember(record: JobRecord): void {
    this.jobs.set(record.id, record);
  }

  /** Records the job in memory at once and on disk in call order; resolves once durable. */
  save(record: JobRecord): Promise<void> {
    this.jobs.set(record.id, record);
    const snapshot = `${JSON.stringify(record, null, 2)}\n`;
    const previous = this.writes.get(record.id) ?? Promise.resolve();
    const write = previous
      .catch(() => undefined)
      .then(async () => {
        await mkdir(this.dir(record.id), { recursive: true });
        await writeFileAtomic(path.join(this.dir(record.id), 'job.json'), snapshot);
      });
    this.writes.set(record.id, write);
    void write.finally(() => {
      if (this.writes.get(record.id) === write) this.writes.delete(record.id);
    }).catch(() => undefined);
    return write;
  }

  /** Waits for every pending write. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }
}

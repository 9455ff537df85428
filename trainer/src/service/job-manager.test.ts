/**
 * The queue's rules, with an executor the test steps by hand (training itself is covered by
 * the integration tests in trainer/test): one job at a time, cancel of queued and running
 * jobs, shutdown leaves a job to resume, a crashed job resumes, a crash-looping job fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_DEFAULTS } from './hyperparameters';
import { JobManager, type JobExecutor, type JobRunContext } from './job-manager';
import { JobStore, newJobId, type JobRecord } from './job-store';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempStore(): Promise<JobStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'nst-jobs-'));
  dirs.push(dir);
  return JobStore.open(dir);
}

function job(style: string): JobRecord {
  return {
    id: newJobId(),
    kind: 'create-style',
    state: 'queued',
    style,
    displayName: style,
    description: '',
    baseVersion: '',
    resultVersion: '',
    reason: 'test',
    error: '',
    hyperparameters: { ...JOB_DEFAULTS['create-style'], steps: 3, lossWeights: {} },
    step: 0,
    totalSteps: 3,
    losses: {},
    imagesPerSecond: 0,
    etaSeconds: 0,
    createdAt: new Date().toISOString(),
    attempts: 0,
  };
}

/** Runs each job until the test calls finish(id), reporting the step it is told. */
class SteppedExecutor implements JobExecutor {
  readonly started: { id: string; resume: boolean }[] = [];
  private readonly pending = new Map<string, { resolve: (v: { resultVersion: string }) => void; context: JobRunContext }>();

  run(record: JobRecord, context: JobRunContext): Promise<{ resultVersion: string }> {
    this.started.push({ id: record.id, resume: context.resume });
    return new Promise((resolve, reject) => {
      this.pending.set(record.id, { resolve, context });
      context.signal.addEventListener('abort', () => reject(new Error(String(context.signal.reason))), { once: true });
    });
  }

  step(id: string, step: number): void {
    this.pending.get(id)!.context.onProgress({ step, totalSteps: 3, losses: { total: 1 / step }, imagesPerSec: 2, etaSeconds: 3 - step });
  }

  finish(id: string, version: string): void {
    this.pending.get(id)!.resolve({ resultVersion: version });
  }
}

/** Waits until `condition` holds (the manager works asynchronously), failing after 10 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('JobManager', () => {
  it('runs one job at a time in submission order and records the result', async () => {
    const store = await tempStore();
    const executor = new SteppedExecutor();
    const manager = new JobManager({ store, executor, logger: silent });
    await manager.start();
    const a = await manager.submit(job('a'));
    const b = await manager.submit(job('b'));
    await until(() => executor.started.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(executor.started.map((s) => s.id)).toEqual([a.id]);
    expect(manager.get(b.id)!.state).toBe('queued');

    const seen: string[] = [];
    manager.watch(a.id, (update) => seen.push(`${update.job.state}:${update.job.step}`));
    executor.step(a.id, 1);
    executor.finish(a.id, 'v1');
    await until(() => executor.started.length === 2);
    expect(manager.get(a.id)).toMatchObject({ state: 'succeeded', resultVersion: 'v1', step: 3 });
    expect(seen).toEqual(['running:0', 'running:1', 'succeeded:3']);
    expect(executor.started.map((s) => s.id)).toEqual([a.id, b.id]);
    await manager.close();
  });

  it('cancels queued and running jobs', async () => {
    const store = await tempStore();
    const executor = new SteppedExecutor();
    const manager = new JobManager({ store, executor, logger: silent });
    await manager.start();
    const a = await manager.submit(job('a'));
    const b = await manager.submit(job('b'));
    await until(() => executor.started.length === 1);
    expect((await manager.cancel(b.id))!.state).toBe('cancelled');
    expect((await manager.cancel(a.id))!.state).toBe('cancelled');
    expect(executor.started.map((s) => s.id)).toEqual([a.id]);
    await manager.close();
  });

  it('leaves a job interrupted by shutdown queued, and resumes it on the next start', async () => {
    const store = await tempStore();
    const first = new SteppedExecutor();
    const manager = new JobManager({ store, executor: first, logger: silent });
    await manager.start();
    const a = await manager.submit(job('a'));
    await until(() => first.started.length === 1);
    first.step(a.id, 2);
    await manager.close();

    const reopened = await JobStore.open(store.root);
    expect(reopened.get(a.id)).toMatchObject({ state: 'queued', step: 2, attempts: 1 });
    const second = new SteppedExecutor();
    const restarted = new JobManager({ store: reopened, executor: second, logger: silent });
    await restarted.start();
    await until(() => second.started.length === 1);
    expect(second.started).toEqual([{ id: a.id, resume: true }]);
    second.finish(a.id, 'v1');
    await until(() => restarted.get(a.id)!.state === 'succeeded');
    await restarted.close();
  });

  it('resumes a job left running by a crash, and fails one that keeps crashing', async () => {
    const store = await tempStore();
    const crashed = { ...job('a'), state: 'running' as const, attempts: 1, step: 2 };
    const looping = { ...job('b'), state: 'running' as const, attempts: 3 };
    await store.save(crashed);
    await store.save(looping);

    const executor = new SteppedExecutor();
    const manager = new JobManager({ store: await JobStore.open(store.root), executor, logger: silent, maxAttempts: 3 });
    await manager.start();
    await until(() => executor.started.length === 1);
    expect(executor.started).toEqual([{ id: crashed.id, resume: true }]);
    expect(manager.get(looping.id)).toMatchObject({ state: 'failed' });
    expect(manager.get(looping.id)!.error).toMatch(/stopped during this job 3 times/);
    await manager.close();
  });

  it('records a failing job with the reason', async () => {
    const store = await tempStore();
    const manager = new JobManager({
      store,
      executor: { run: () => Promise.reject(new Error('no training photos: set NST_PHOTOS_DIR')) },
      logger: silent,
    });
    await manager.start();
    const a = await manager.submit(job('a'));
    await until(() => manager.get(a.id)!.state === 'failed');
    await manager.close();
    expect(manager.get(a.id)).toMatchObject({ state: 'failed', error: 'no training photos: set NST_PHOTOS_DIR' });
    const reopened = await JobStore.open(store.root);
    expect(reopened.get(a.id)!.state).toBe('failed');
  });
});

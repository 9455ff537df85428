/** Job records survive an upgrade: a job queued before the loss was a setting resumes on the random loss it was resolved with. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { JobStore, newJobId } from './job-store';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

it('reads a job record written before loss_network existed as a random-loss job', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'nst-jobs-'));
  dirs.push(root);
  const id = newJobId();
  await mkdir(path.join(root, id));
  const old = {
    id,
    kind: 'create-style',
    state: 'queued',
    style: 'old-style',
    displayName: 'Old',
    description: '',
    baseVersion: '',
    resultVersion: '',
    reason: 'queued before the upgrade',
    error: '',
    hyperparameters: { steps: 600, learningRate: 0.003, batchSize: 4, imageSize: 128, lossWeights: {}, seed: 1 },
    step: 0,
    totalSteps: 600,
    losses: {},
    imagesPerSecond: 0,
    etaSeconds: 0,
    createdAt: new Date().toISOString(),
    attempts: 0,
  };
  await writeFile(path.join(root, id, 'job.json'), JSON.stringify(old));
  const store = await JobStore.open(root);
  expect(store.get(id)?.hyperparameters).toEqual({ ...old.hyperparameters, lossNetwork: 'random', styleScale: 1 });
});

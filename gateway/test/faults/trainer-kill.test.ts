/**
 * TrainerService killed with SIGKILL mid-job, as its own process (`trainer/src/main.ts`, the
 * way `npm start` and its image run it). The in-process restart and a simulated crash are
 * covered in trainer/; this is the real kill: after a restart on the same data folder the job
 * resumes from its checkpoint (or is failed with a reason), and the registry loads with every
 * version intact and no half-written one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { type CreateStyleFromImageResponse, JobState, TrainerServiceClient, type Job } from '@nst/proto';
import { ModelRegistry, waitForServing } from '@nst/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL, painting, TINY, watchToEnd, writeTrainingPhotos } from '../../../trainer/test/harness';
import { freePort } from '../fuzz/style-process';

const TRAINER_MAIN = fileURLToPath(new URL('../../../trainer/src/main.ts', import.meta.url));
const TOKEN = 'trainer-kill-test-token';

let root: string;
let address: string;
let trainer: ChildProcess | undefined;
let client: TrainerServiceClient;

async function startTrainerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', TRAINER_MAIN], {
    env: {
      ...process.env,
      NST_DATA_DIR: join(root, 'data'),
      NST_PHOTOS_DIR: join(root, 'photos'),
      NST_TRAINER_ADDR: address,
      NST_ADMIN_TOKEN: TOKEN,
      NST_LOG_LEVEL: 'warn',
      NST_FINETUNE_POLL_SECONDS: '86400',
      NST_TRAINER_METRICS_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-10_000)));
  const died = new Promise<never>((_resolve, reject) => child.once('exit', (code, signal) => reject(new Error(`trainer exited (${code ?? signal}): ${stderr}`))));
  died.catch(() => undefined);
  await Promise.race([waitForServing(address, { timeoutMs: 180_000 }), died]);
  return child;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nst-faults-trainer-'));
  await writeTrainingPhotos(join(root, 'photos'));
  address = `127.0.0.1:${await freePort()}`;
  trainer = await startTrainerProcess();
  client = new TrainerServiceClient(address, credentials.createInsecure());
}, 240_000);

afterAll(async () => {
  client?.close();
  if (trainer && trainer.exitCode === null && trainer.signalCode === null) {
    const exited = new Promise((resolve) => trainer!.once('exit', resolve));
    trainer.kill('SIGTERM');
    await exited;
  }
  if (root) await rm(root, { recursive: true, force: true });
});

describe('TrainerService killed with SIGKILL mid-job', () => {
  it('resumes the job after a restart, and the registry loads with every version intact', async () => {
    const paintingBytes = await painting();
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const job = await new Promise<Job>((resolve, reject) =>
      client.createStyleFromImage(
        {
          header: { styleId: 'killed-mid-job', displayName: 'Killed mid-job', description: 'Trained through a SIGKILL.', hyperparameters: { steps: 60, ...TINY } },
          painting: paintingBytes,
        },
        metadata,
        (error: ServiceError | null, response?: CreateStyleFromImageResponse) => (error ? reject(error) : resolve(response!.job!)),
      ),
    );
    expect(job.id).not.toBe('');

    // Killed past the first checkpoint (every 25 steps), while the job runs.
    await new Promise<void>((resolve, reject) => {
      const stream = client.watchJob({ jobId: job.id });
      stream.on('data', (update: { job?: Job }) => {
        if ((update.job?.step ?? 0) >= 30) resolve();
        if (update.job && FINAL.has(update.job.state)) reject(new Error(`the job ended (${JobState[update.job.state]}) before it could be killed`));
      });
      stream.on('error', () => undefined);
    });
    const exited = new Promise((resolve) => trainer!.once('exit', resolve));
    trainer!.kill('SIGKILL');
    await exited;
    expect(trainer!.signalCode).toBe('SIGKILL');

    trainer = await startTrainerProcess();
    const last = (await watchToEnd(client, job.id)).at(-1)!.job!;
    expect([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED]).toContain(last.state);
    if (last.state === JobState.JOB_STATE_FAILED) expect(last.error).not.toBe('');

    const registryDir = join(root, 'data', 'registry');
    const registry = await ModelRegistry.open(registryDir, { readOnly: true });
    if (last.state === JobState.JOB_STATE_SUCCEEDED) {
      const { intact, corrupt } = await registry.checkVersions('killed-mid-job');
      expect(corrupt).toEqual([]);
      expect(intact.map((v) => v.version)).toEqual([1]);
      // It resumed from the checkpoint rather than starting over.
      expect(Number(intact[0]!.metadata.dataHashes['resumedFromStep'] ?? 0)).toBeGreaterThanOrEqual(25);
    }
    for (const entry of await readdir(registryDir, { withFileTypes: true })) {
      expect(entry.name.startsWith('.tmp-'), entry.name).toBe(false);
      if (entry.isDirectory()) expect((await readdir(join(registryDir, entry.name))).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    }
  });
});

/**
 * TrainerService killed with SIGKILL mid-job, as its own process (`trainer/src/main.ts`, the
 * way `npm start` and its image run it). The in-process restart and a simulated crash are
 * covered in trainer/; this is the real kill: after a restart on the same data folder the job
 * resumes from its checkpoint (or is failed with a reason), and the registry loads with every
 * version intact and no half-written one.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { type CreateStyleFromImageResponse, JobState, TrainerServiceClient, type Job } from '@nst/proto';
import { ModelRegistry } from '@nst/runtime';
import { admin, FINAL, freePort, painting, spawnService, TINY, watchToEnd, writeTrainingPhotos, type ServiceProcess } from '@nst/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOKEN = 'trainer-kill-test-token';

let root: string;
let address: string;
let trainer: ServiceProcess | undefined;
let client: TrainerServiceClient;

/** TrainerService's own process on the test's data folder and address. */
function startTrainerProcess(): Promise<ServiceProcess> {
  return spawnService('trainer', {
    dataDir: join(root, 'data'),
    address,
    env: { NST_PHOTOS_DIR: join(root, 'photos'), NST_ADMIN_TOKEN: TOKEN, NST_FINETUNE_POLL_SECONDS: '86400' },
  });
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
  await trainer?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('TrainerService killed with SIGKILL mid-job', () => {
  it('resumes the job after a restart, and the registry loads with every version intact', async () => {
    const paintingBytes = await painting();
    const job = await new Promise<Job>((resolve, reject) =>
      client.createStyleFromImage(
        {
          header: { styleId: 'killed-mid-job', displayName: 'Killed mid-job', description: 'Trained through a SIGKILL.', hyperparameters: { steps: 60, ...TINY } },
          painting: paintingBytes,
        },
        admin(TOKEN),
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
    expect((await trainer!.kill('SIGKILL')).signal).toBe('SIGKILL');

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

/**
 * TrainerService over real gRPC on a free port, training for real (tiny crops, a few steps):
 * create a style and watch it train, fine-tune it, list the lineage, cancel a job, resume a
 * job interrupted by a restart, and refuse bad or unauthorised requests with the right status.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobKind, JobState, StylePooling, StyleStatistic, VersionOrigin, type Job } from '@nst/proto';
import { admin, call, createStyle, painting, registerTinyStyle, TINY, tinyJobHeader, watchToEnd } from '@nst/test-kit';
import { startTrainer, type TrainerFixture } from './harness';

let t: TrainerFixture;
let paintingBytes: Buffer;

beforeAll(async () => {
  t = await startTrainer();
  paintingBytes = await painting();
});
afterAll(async () => {
  await t?.close();
});

/** A valid 64x64 PNG whose header then claims `width` x `height` (CRC fixed up). */
async function decompressionBomb(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer();
  // Signature (8), IHDR length (4), "IHDR" (4), then width and height; CRC over type + data.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('TrainerService', () => {
  it('trains a new style from a streamed painting, reporting progress, losses, ETA and previews', async () => {
    const started = performance.now();
    const chunks = [paintingBytes.subarray(0, 1000), paintingBytes.subarray(1000)];
    const job = await createStyle(t.client, [{ header: tinyJobHeader('swirl-test', 4) }, { chunk: chunks[0]! }, { chunk: chunks[1]! }]);
    expect(job).toMatchObject({ kind: JobKind.JOB_KIND_CREATE_STYLE, style: 'swirl-test', totalSteps: 4 });
    expect([JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING]).toContain(job.state);

    const updates = await watchToEnd(t.client, job.id);
    const last = updates.at(-1)!.job!;
    expect(last.state, last.error).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(last.resultVersion).toBe('1');
    const running = updates.map((u) => u.job!).filter((j) => j.state === JobState.JOB_STATE_RUNNING && j.step > 0);
    expect(running.map((j) => j.step)).toEqual([1, 2, 3, 4].slice(0, running.length));
    expect(running[0]!.losses['total']).toBeGreaterThan(0);
    expect(running[0]!.imagesPerSecond).toBeGreaterThan(0);
    expect(running[0]!.etaSeconds).toBeGreaterThan(0);
    const previews = updates.filter((u) => u.previewJpeg.length > 0);
    expect(previews.length).toBeGreaterThan(0);
    expect((await sharp(previews[0]!.previewJpeg).metadata()).format).toBe('jpeg');
    console.log(`create-style job of 4 tiny steps: ${((performance.now() - started) / 1000).toFixed(1)} s end to end`);

    const { versions } = await call(t.client, t.client.listVersions, { style: 'swirl-test' });
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: '1', parentVersion: '', origin: VersionOrigin.VERSION_ORIGIN_TRAINED, jobId: job.id });
    expect(Object.keys(versions[0]!.losses)).toContain('style');
    // The registry holds the model StyleService runs, the weights and the lineage metadata.
    const record = await t.registry.getVersion('swirl-test', 1);
    expect(record.metadata.hyperparameters).toMatchObject({ steps: 4, batchSize: 1, imageSize: 32 });
    expect(record.metadata.dataHashes.photos).toMatch(/^[0-9a-f]{64}$/);
    expect((await t.registry.readModel('swirl-test', 1)).length).toBeGreaterThan(10_000);
    // Export also made the INT8 model, calibrated on the job's photos and judged against FP32;
    // the version serves it only if it passed.
    const int8 = record.metadata.derivedModels?.int8;
    expect(int8).toMatchObject({ calibration: { method: 'percentile' }, quality: { checkPhotos: expect.any(Number) } });
    expect(record.metadata.servePrecision).toBe(int8?.passed ? 'int8' : 'fp32');
    expect((await t.registry.readModel('swirl-test', 1, 'int8')).length).toBe(int8?.sizeBytes);
  });

  it('fine-tunes a version into a new version whose parent it is', async () => {
    const { job } = await call(
      t.client,
      t.client.fineTune,
      { style: 'swirl-test', version: '', reason: 'a test asked', hyperparameters: { steps: 3, ...TINY }, requestId: '' },
      admin(),
    );
    expect(job).toMatchObject({ kind: JobKind.JOB_KIND_FINE_TUNE, baseVersion: '1', reason: 'a test asked' });
    const last = (await watchToEnd(t.client, job!.id)).at(-1)!.job!;
    expect(last.state, last.error).toBe(JobState.JOB_STATE_SUCCEEDED);
    const { versions } = await call(t.client, t.client.listVersions, { style: 'swirl-test' });
    expect(versions.map((v) => [v.version, v.parentVersion, v.origin])).toEqual([
      ['1', '', VersionOrigin.VERSION_ORIGIN_TRAINED],
      ['2', '1', VersionOrigin.VERSION_ORIGIN_FINE_TUNED],
    ]);
    const { jobs } = await call(t.client, t.client.listJobs, { style: 'swirl-test', state: JobState.JOB_STATE_UNSPECIFIED, limit: 0 });
    expect(jobs.map((j) => j.kind)).toEqual([JobKind.JOB_KIND_FINE_TUNE, JobKind.JOB_KIND_CREATE_STYLE]);
    const { job: got } = await call(t.client, t.client.getJob, { jobId: job!.id });
    expect(got).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, resultVersion: '2' });
  });

  it('trains a new style on the ImageNet loss unless asked otherwise, on the sliced statistic and batch pooling when asked, and fine-tunes it on the same loss', async () => {
    const imagenet = {
      styleId: 'imagenet-test',
      displayName: 'ImageNet test',
      description: '',
      hyperparameters: { steps: 2, batchSize: 2, imageSize: 96, styleStatistic: StyleStatistic.STYLE_STATISTIC_SLICED, stylePooling: StylePooling.STYLE_POOLING_BATCH },
    };
    const created = await createStyle(t.client, [{ header: imagenet }, { chunk: paintingBytes }]);
    const trained = (await watchToEnd(t.client, created.id)).at(-1)!.job!;
    expect(trained.state, trained.error).toBe(JobState.JOB_STATE_SUCCEEDED);
    const sliced = { lossNetwork: 'inception', styleScale: 2, statistic: 'sliced', slicedLayers: [3, 4], lossWeights: { style: 5 }, stylePooling: 'batch' };
    expect((await t.registry.getVersion('imagenet-test', 1)).metadata.hyperparameters).toMatchObject({ ...sliced, imageSize: 96 });
    const { job } = await call(t.client, t.client.fineTune, { style: 'imagenet-test', version: '', reason: 'same loss', hyperparameters: { steps: 1, batchSize: 1, imageSize: 96 }, requestId: '' }, admin());
    const tuned = (await watchToEnd(t.client, job!.id)).at(-1)!.job!;
    expect(tuned.state, tuned.error).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect((await t.registry.getVersion('imagenet-test', 2)).metadata.hyperparameters).toMatchObject(sliced);
  });

  it('cancels a running job', async () => {
    const job = await createStyle(t.client, [{ header: tinyJobHeader('cancelled-test', 500) }, { chunk: paintingBytes }]);
    await new Promise<void>((resolve, reject) => {
      const stream = t.client.watchJob({ jobId: job.id });
      stream.on('data', (u: { job?: Job }) => {
        if (u.job!.step >= 1) {
          stream.cancel();
          resolve();
        }
      });
      stream.on('error', (error: ServiceError) => (error.code === status.CANCELLED ? undefined : reject(error)));
    });
    const { job: cancelled } = await call(t.client, t.client.cancelJob, { jobId: job.id }, admin());
    expect(cancelled!.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(await t.registry.hasStyle('cancelled-test')).toBe(false);
    // Its working copies (photo set, checkpoint) are gone; the record stays.
    expect((await readdir(path.join(t.dataDir, 'jobs', job.id))).sort()).toEqual(['feedback-ids.json', 'job.json', 'style-image.jpg']);
  });

  it('resumes a job interrupted by a restart from its checkpoint', async () => {
    const job = await createStyle(t.client, [{ header: tinyJobHeader('resumed-test', 8) }, { chunk: paintingBytes }]);
    // Stop the trainer once a checkpoint (every 2 steps) exists.
    await new Promise<void>((resolve) => {
      const stream = t.client.watchJob({ jobId: job.id });
      stream.on('data', (u: { job?: Job }) => {
        if (u.job!.step >= 3) {
          stream.cancel();
          resolve();
        }
      });
      stream.on('error', () => undefined);
    });
    await t.restart();
    const last = (await watchToEnd(t.client, job.id)).at(-1)!.job!;
    expect(last.state, last.error).toBe(JobState.JOB_STATE_SUCCEEDED);
    const record = await t.registry.getVersion('resumed-test', 1);
    expect(record.metadata.dataHashes['resumedFromStep']).toBeGreaterThanOrEqual(2);
    const saved = JSON.parse(await readFile(path.join(t.dataDir, 'jobs', job.id, 'job.json'), 'utf8')) as { attempts: number };
    expect(saved.attempts).toBe(2);
  });

  it('keeps a watch of a queued job alive with its state every NST_JOB_KEEPALIVE_SECONDS, and a FineTune retried with its request id gets the same job, also after a restart', async () => {
    await t.restart({ watchKeepaliveSeconds: 0.25 });
    await registerTinyStyle(t.registry, 'retry-test', [1]);
    // One job runs at a time: the fine-tunes below wait behind this one.
    const blocker = await createStyle(t.client, [{ header: tinyJobHeader('queue-blocker', 500) }, { chunk: paintingBytes }]);
    const ask = (requestId: string, style = 'retry-test') =>
      call(t.client, t.client.fineTune, { style, version: '', reason: 'a Job asked', hyperparameters: { steps: 2, ...TINY }, requestId }, admin());
    // Two tries at once (a client that timed out and retried at once) make one job.
    const [first, second] = await Promise.all([ask('job-uid-1'), ask('job-uid-1')]);
    expect(second.job!.id).toBe(first.job!.id);
    const jobId = first.job!.id;
    expect((await ask('job-uid-1')).job!.id).toBe(jobId);
    const reused = await rejection(ask('job-uid-1', 'another-style'));
    expect(reused.code).toBe(status.INVALID_ARGUMENT);
    expect(reused.details).toContain(jobId);
    expect((await rejection(ask('not a valid id!'))).code).toBe(status.INVALID_ARGUMENT);

    // Queued for as long as the blocker runs: nothing changes, yet the stream is never silent
    // for longer than the keep-alive interval.
    const arrivals: number[] = [];
    const states: JobState[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = t.client.watchJob({ jobId });
      const started = performance.now();
      stream.on('data', (u: { job?: Job }) => {
        arrivals.push(performance.now() - started);
        states.push(u.job!.state);
      });
      stream.on('error', (error: ServiceError) => (error.code === status.CANCELLED ? undefined : reject(error)));
      setTimeout(() => {
        stream.cancel();
        resolve();
      }, 2000);
    });
    // The state now, then again every 250 ms (give or take a loaded machine's timers).
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    expect(new Set(states)).toEqual(new Set([JobState.JOB_STATE_QUEUED]));

    // The request id is kept with the job: a retry after a trainer restart finds it.
    await t.restart();
    expect((await ask('job-uid-1')).job!.id).toBe(jobId);
    const { jobs } = await call(t.client, t.client.listJobs, { style: 'retry-test', state: JobState.JOB_STATE_UNSPECIFIED, limit: 0 });
    expect(jobs.map((j) => j.id)).toEqual([jobId]);
    await call(t.client, t.client.cancelJob, { jobId }, admin());
    await call(t.client, t.client.cancelJob, { jobId: blocker.id }, admin());
  }, 120_000);

  it('answers UNAUTHENTICATED without the admin token and PERMISSION_DENIED with a wrong one', async () => {
    const none = await rejection(createStyle(t.client, [{ header: tinyJobHeader('nope', 2) }, { chunk: paintingBytes }], new Metadata()));
    expect(none.code).toBe(status.UNAUTHENTICATED);
    expect(none.details).toMatch(/admin token/);
    const wrong = await rejection(call(t.client, t.client.fineTune, { style: 'swirl-test', version: '', reason: '', requestId: '' }, admin('wrong')));
    expect(wrong.code).toBe(status.PERMISSION_DENIED);
    const cancel = await rejection(call(t.client, t.client.cancelJob, { jobId: 'x' }, admin('wrong')));
    expect(cancel.code).toBe(status.PERMISSION_DENIED);
  });

  it('refuses bad CreateStyle streams with statuses a client can act on, and keeps serving', async () => {
    const text = Buffer.from('this is not an image at all, just text saved as .png\n'.repeat(10));
    const cases: [string, Parameters<typeof createStyle>[1], status, RegExp][] = [
      ['chunk before header', [{ chunk: paintingBytes }, { header: tinyJobHeader('a-style', 2) }], status.INVALID_ARGUMENT, /before the header/],
      ['two headers', [{ header: tinyJobHeader('a-style', 2) }, { header: tinyJobHeader('a-style', 2) }], status.INVALID_ARGUMENT, /twice/],
      ['no painting', [{ header: tinyJobHeader('a-style', 2) }], status.INVALID_ARGUMENT, /empty/],
      ['text as painting', [{ header: tinyJobHeader('a-style', 2) }, { chunk: text }], status.INVALID_ARGUMENT, /not an image/],
      ['truncated JPEG', [{ header: tinyJobHeader('a-style', 2) }, { chunk: paintingBytes.subarray(0, paintingBytes.length - 400) }], status.INVALID_ARGUMENT, /truncated|decoded/],
      ['over the byte limit', [{ header: tinyJobHeader('a-style', 2) }, { chunk: Buffer.alloc(150_000) }, { chunk: Buffer.alloc(150_000) }], status.RESOURCE_EXHAUSTED, /limit/],
      ['bad style id', [{ header: tinyJobHeader('Not Valid!', 2) }, { chunk: paintingBytes }], status.INVALID_ARGUMENT, /style_id/],
      ['existing style', [{ header: tinyJobHeader('swirl-test', 2) }, { chunk: paintingBytes }], status.ALREADY_EXISTS, /already exists/],
      ['crops too small for the ImageNet loss', [{ header: { ...tinyJobHeader('a-style', 2), hyperparameters: { steps: 2, imageSize: 64 } } }, { chunk: paintingBytes }], status.INVALID_ARGUMENT, /at least 96 px.*LOSS_NETWORK_RANDOM/],
      ['bad steps', [{ header: { ...tinyJobHeader('a-style', 2), hyperparameters: { steps: 0 } } }, { chunk: paintingBytes }], status.INVALID_ARGUMENT, /steps/],
    ];
    for (const [name, messages, code, message] of cases) {
      const error = await rejection(createStyle(t.client, messages));
      expect(error.code, name).toBe(code);
      expect(error.details, name).toMatch(message);
    }
    // A decompression bomb: a tiny PNG declaring 30000x30000 pixels.
    const bomb = await decompressionBomb(30000, 30000);
    const error = await rejection(call(t.client, t.client.createStyleFromImage, { header: tinyJobHeader('bomb', 2), painting: bomb }, admin()));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/30000x30000 pixels, more than the 4 megapixel limit/);

    const missing = await rejection(call(t.client, t.client.listVersions, { style: 'no-such-style' }));
    expect(missing.code).toBe(status.NOT_FOUND);
    const noJob = await rejection(call(t.client, t.client.getJob, { jobId: 'no-such-job' }));
    expect(noJob.code).toBe(status.NOT_FOUND);
    const noVersion = await rejection(call(t.client, t.client.fineTune, { style: 'swirl-test', version: '99', reason: '', requestId: '' }, admin()));
    expect(noVersion.code).toBe(status.NOT_FOUND);
    const { jobs } = await call(t.client, t.client.listJobs, { style: '', state: JobState.JOB_STATE_UNSPECIFIED, limit: 1 });
    expect(jobs).toHaveLength(1);
  });

  it('serves health and reflection, so buf curl works without proto files', async () => {
    const buf = fileURLToPath(new URL('../../node_modules/.bin/buf', import.meta.url));
    const run = promisify(execFile);
    const base = `http://${t.address}`;
    const health = await run(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '-d', '{"service":"nst.v1.TrainerService"}', `${base}/grpc.health.v1.Health/Check`]);
    expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });
    const versions = await run(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '-d', '{"style":"swirl-test"}', `${base}/nst.v1.TrainerService/ListVersions`]);
    const parsed = JSON.parse(versions.stdout) as { versions: { version: string; origin: string }[] };
    expect(parsed.versions.map((v) => v.origin)).toEqual(['VERSION_ORIGIN_TRAINED', 'VERSION_ORIGIN_FINE_TUNED']);
  });

  it('trains each job on the WASM threads the trainer was given (NST_TRAIN_THREADS), in its worker thread', async () => {
    const threaded = await startTrainer({ jobThreads: 2 });
    try {
      const job = await createStyle(threaded.client, [{ header: tinyJobHeader('threads-test', 2) }, { chunk: paintingBytes }]);
      const last = (await watchToEnd(threaded.client, job.id)).at(-1)!.job!;
      expect(last.state, last.error).toBe(JobState.JOB_STATE_SUCCEEDED);
      const { dataHashes } = (await threaded.registry.getVersion('threads-test', 1)).metadata;
      // tfjs-node, where installed, runs its own thread pool and records none.
      if (dataHashes.backend === 'wasm') expect(dataHashes.threads).toBe(2);
      else expect(dataHashes.backend).toBe('tensorflow');
    } finally {
      await threaded.close();
    }
  });
});


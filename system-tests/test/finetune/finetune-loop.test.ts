/**
 * The loop, end to end over gRPC: a style version serves photos through StyleService, people
 * rate the results bad (consenting to keep the photos) through SubmitFeedback, StyleService
 * makes the ratings durable in the shared feedback store, the trainer's trigger sees the
 * threshold crossed, starts a fine-tune on the rated photos plus the regular set on its own,
 * and registers the new version, whose parent is the rated one. It fires once per cooldown.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JobKind,
  JobState,
  OutputFormat,
  Rating,
  StyleServiceClient,
  VersionOrigin,
  type StylizeImageResponse,
  type SubmitFeedbackRequest,
} from '@nst/proto';
import { JsonlFeedbackStore, type FeedbackStore } from '@nst/runtime';
import { startStyleServer, type RunningStyleService } from '@nst/inference';
import { call, createStyle, painting, TINY, tinyJobHeader, watchToEnd } from '@nst/test-kit';
import { silentLogger, startTrainer, type TrainerFixture } from '@nst/trainer/testing';

let t: TrainerFixture;
let style: RunningStyleService;
let feedbackStore: FeedbackStore;
let styleClient: StyleServiceClient;

beforeAll(async () => {
  t = await startTrainer({
    autoFineTune: { minBad: 2, badRatio: 0.5, windowMinutes: 60, cooldownMinutes: 60, pollSeconds: 1, hyperparameters: { steps: 3, ...TINY } },
  });
  feedbackStore = await JsonlFeedbackStore.open(t.feedbackDir);
  style = await startStyleServer({
    config: {
      styleAddr: '127.0.0.1:0',
      maxUploadBytes: 8_000_000,
      maxPixels: 4_000_000,
      chunkBytes: 64 * 1024,
      maxConcurrent: 1,
      queueLength: 4,
      tileSize: 256,
      tileOverlap: 16,
      inferenceThreads: 1,
      keptPhotosDir: t.keptPhotosDir,
      feedbackRetentionDays: 30,
    },
    registry: t.registry,
    feedbackStore,
    logger: silentLogger,
    address: '127.0.0.1:0',
  });
  styleClient = new StyleServiceClient(`127.0.0.1:${style.port}`, credentials.createInsecure());
});

afterAll(async () => {
  styleClient?.close();
  await style?.close();
  await feedbackStore?.close();
  await t?.close();
});

/** Stylizes one photo with StylizeImage; resolves with the summary's request id and version. */
function stylize(image: Buffer): Promise<{ requestId: string; version: string }> {
  return new Promise((resolve, reject) => {
    const stream = styleClient.stylizeImage({
      header: { style: 'loop-style', format: OutputFormat.OUTPUT_FORMAT_JPEG, quality: 80, maxDimension: 0, clientId: 'loop-test' },
      image,
    });
    let result: { requestId: string; version: string } | undefined;
    stream.on('data', (message: StylizeImageResponse) => {
      if (message.kind?.$case === 'summary') result = { requestId: message.kind.summary.requestId, version: message.kind.summary.version };
    });
    stream.on('error', reject);
    stream.on('end', () => (result ? resolve(result) : reject(new Error('no summary'))));
  });
}

function rate(request: Omit<SubmitFeedbackRequest, 'feedbackId' | 'clientId' | 'style'>): Promise<{ photoKept: boolean }> {
  return new Promise((resolve, reject) => {
    styleClient.submitFeedback({ ...request, feedbackId: '', clientId: 'loop-test', style: 'loop-style' }, (error: ServiceError | null, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

describe('the feedback-to-fine-tune loop', () => {
  it('fine-tunes a version on its own once its bad ratings cross the threshold, and registers the new version', async () => {
    const base = await createStyle(t.client, [{ header: tinyJobHeader('loop-style', 3) }, { chunk: await painting() }]);
    expect((await watchToEnd(t.client, base.id)).at(-1)!.job!.state).toBe(JobState.JOB_STATE_SUCCEEDED);

    const photos = await Promise.all(['photo-0.png', 'photo-1.png', 'photo-2.png'].map((name) => readFile(path.join(t.photosDir, name))));
    const served = [];
    for (const photo of photos) served.push(await stylize(photo));
    expect(served.map((s) => s.version)).toEqual(['1', '1', '1']);

    // One bad rating is below the threshold (2 bad, at least half bad): nothing starts.
    expect((await rate({ requestId: served[0]!.requestId, version: '1', rating: Rating.RATING_BAD, reason: 'muddy', consentToKeepPhoto: true })).photoKept).toBe(true);
    await rate({ requestId: served[1]!.requestId, version: '1', rating: Rating.RATING_GOOD, reason: '', consentToKeepPhoto: false });
    await t.service.trigger!.check();
    const fineTunes = async () =>
      (await call(t.client, t.client.listJobs, { style: 'loop-style', state: JobState.JOB_STATE_UNSPECIFIED, limit: 0 })).jobs.filter(
        (j) => j.kind === JobKind.JOB_KIND_FINE_TUNE,
      );
    expect(await fineTunes()).toHaveLength(0);

    // The second bad rating crosses it: 2 bad of 3.
    await rate({ requestId: served[2]!.requestId, version: '1', rating: Rating.RATING_BAD, reason: 'blotchy', consentToKeepPhoto: true });
    const started = performance.now();
    let jobs = await fineTunes();
    while (jobs.length === 0 && performance.now() - started < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      jobs = await fineTunes();
    }
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.baseVersion).toBe('1');
    expect(job.reason).toMatch(/2 bad ratings of 3 for version 1/);
    const done = (await watchToEnd(t.client, job.id)).at(-1)!.job!;
    expect(done.state, done.error).toBe(JobState.JOB_STATE_SUCCEEDED);
    console.log(`automatic fine-tune (3 tiny steps): ${((performance.now() - started) / 1000).toFixed(1)} s from the crossing rating to the registered version`);

    const { versions } = await call(t.client, t.client.listVersions, { style: 'loop-style' });
    expect(versions.at(-1)).toMatchObject({ version: '2', parentVersion: '1', origin: VersionOrigin.VERSION_ORIGIN_FINE_TUNED, jobId: job.id });
    const record = await t.registry.getVersion('loop-style', 2);
    expect(record.metadata.dataHashes).toMatchObject({ ratedBadPhotos: 2, photoCount: 5, trigger: { bad: 2, total: 3 } });

    // StyleService serves the new version next, and the cooldown holds off another fine-tune.
    expect((await stylize(photos[0]!)).version).toBe('2');
    await t.service.trigger!.check();
    expect(await fineTunes()).toHaveLength(1);
  });
});

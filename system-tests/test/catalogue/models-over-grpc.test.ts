/**
 * StyleService with a data folder of its own: no registry folder, no rollouts file. Its styles
 * come from a real TrainerService's WatchVersions stream and each model is fetched with
 * FetchModel on first use into its own checksummed disk cache; consented photos go to
 * TrainerService with KeepPhoto. Prints the cold fetch and cache hit times it measured.
 */
import { connect, header, listStyles, photoJpeg, registerTinyStyle, sha256, stylizeImage, submitFeedback } from '@nst/test-kit';
import { status } from '@grpc/grpc-js';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rating, type StyleServiceClient } from '@nst/proto';
import { createLogger, JsonlFeedbackStore } from '@nst/runtime';
import { startStyleServer, type StartedStyleService, type StyleServerConfig } from '@nst/inference';
import { startTrainer, type TrainerFixture } from '@nst/trainer/testing';
import { catalogueStyleConfig } from './style-config';

const quiet = createLogger('models-over-grpc', { level: 'silent' });

let t: TrainerFixture;
let dir: string;
let feedback: JsonlFeedbackStore;
let style: StartedStyleService;
let client: StyleServiceClient;
let photo: Buffer;

function configFor(dataDir: string): StyleServerConfig {
  return catalogueStyleConfig(dataDir, t.address);
}

const start = (dataDir: string): Promise<StartedStyleService> =>
  startStyleServer({
    config: configFor(dataDir),
    feedbackStore: feedback,
    logger: quiet,
    trainerWatch: { heartbeatSeconds: 1, backoff: { initialMs: 50, maxMs: 300 } },
  });

beforeAll(async () => {
  t = await startTrainer();
  await registerTinyStyle(t.registry, 'tiny-wave', [11, 12]);
  await registerTinyStyle(t.registry, 'tiny-grain', [21, 22]);
  dir = await mkdtemp(join(tmpdir(), 'nst-style-own-'));
  feedback = await JsonlFeedbackStore.open(join(dir, 'feedback'));
  style = await start(dir);
  client = connect(style.port);
  photo = await photoJpeg(48, 40);
}, 120_000);

afterAll(async () => {
  client?.close();
  await style?.close();
  await feedback?.close();
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('StyleService fetching models from TrainerService', () => {
  it('serves every style of the catalogue from its own data folder, with no registry or rollouts file', async () => {
    const { styles } = await listStyles(client);
    expect(styles.map((s) => [s.id, s.latestVersion, s.versions])).toEqual([
      ['tiny-grain', '2', ['1', '2']],
      ['tiny-wave', '2', ['1', '2']],
    ]);
    for (const id of ['tiny-wave', 'tiny-grain']) {
      const outcome = await stylizeImage(client, header(id), photo);
      expect(outcome.error).toBeUndefined();
      expect(outcome.summary?.version).toBe('2');
      expect(outcome.output.length).toBeGreaterThan(0);
    }
    const pinned = await stylizeImage(client, header('tiny-wave', { version: '1' }), photo);
    expect(pinned.error).toBeUndefined();
    expect(pinned.summary?.version).toBe('1');
    // Only StyleService's own things are in its folder.
    expect((await readdir(dir)).sort()).toEqual(['feedback', 'model-cache']);
    const cached = await readdir(join(dir, 'model-cache', 'models'));
    expect(cached.sort()).toEqual([
      `tiny-grain@2-${sha256(await t.registry.readModel('tiny-grain', 2))}.onnx`,
      `tiny-wave@1-${sha256(await t.registry.readModel('tiny-wave', 1))}.onnx`,
      `tiny-wave@2-${sha256(await t.registry.readModel('tiny-wave', 2))}.onnx`,
    ]);
  });

  it('learns of a version TrainerService registers while it runs, and serves it', async () => {
    await registerTinyStyle(t.registry, 'tiny-wave', [13]);
    const deadline = Date.now() + 10_000;
    while (!(await listStyles(client)).styles.find((s) => s.id === 'tiny-wave')?.versions.includes('3')) {
      if (Date.now() > deadline) throw new Error('version 3 never reached StyleService');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const outcome = await stylizeImage(client, header('tiny-wave'), photo);
    expect(outcome.summary?.version).toBe('3');
  });

  it('fetches a model once over gRPC and reads it from its disk cache after (measured)', async () => {
    const catalog = style.trainerCatalog!;
    const before = { ...catalog.models.stats };
    let started = performance.now();
    const cold = await catalog.readModel('tiny-grain', '1');
    const coldMs = performance.now() - started;
    started = performance.now();
    const warm = await catalog.readModel('tiny-grain', '1');
    const hitMs = performance.now() - started;
    expect(Buffer.from(warm).equals(Buffer.from(cold))).toBe(true);
    expect(catalog.models.stats.fetches - before.fetches).toBe(1);
    expect(catalog.models.stats.hits - before.hits).toBe(1);
    console.log(`model of ${cold.length} bytes: cold fetch over gRPC ${coldMs.toFixed(1)} ms, disk cache hit (sha256 checked) ${hitMs.toFixed(1)} ms`);
  });

  it('detects a corrupt cached model, deletes it and fetches it again', async () => {
    const catalog = style.trainerCatalog!;
    const models = join(dir, 'model-cache', 'models');
    const name = (await readdir(models)).find((n) => n.startsWith('tiny-wave@1-'))!;
    const file = join(models, name);
    const good = await readFile(file);
    const damaged = Buffer.from(good);
    damaged[damaged.length >> 1] = (damaged[damaged.length >> 1] ?? 0) ^ 0xff;
    await chmod(file, 0o644);
    await writeFile(file, damaged);
    const before = { ...catalog.models.stats };
    const bytes = await catalog.readModel('tiny-wave', '1');
    expect(sha256(bytes)).toBe(sha256(good));
    expect(catalog.models.stats.corrupt - before.corrupt).toBe(1);
    expect(catalog.models.stats.fetches - before.fetches).toBe(1);
    expect((await readFile(file)).equals(good)).toBe(true);
  });

  it("hands a consented photo to TrainerService's kept-photos folder and writes none of its own", async () => {
    const outcome = await stylizeImage(client, header('tiny-wave'), photo);
    const requestId = outcome.metadata?.get('x-nst-request-id')[0] as string;
    const response = await submitFeedback(client, { requestId, rating: Rating.RATING_BAD, consentToKeepPhoto: true, feedbackId: 'fb-kept' });
    expect(response.photoKept).toBe(true);
    expect(await readFile(join(t.keptPhotosDir, 'fb-kept.jpeg'))).toEqual(photo);
    expect(await readdir(dir)).not.toContain('kept-photos');
  });

  it('keeps serving cached styles while TrainerService is down, also after a restart, and answers UNAVAILABLE for an uncached model', async () => {
    // A version StyleService knows of but has never fetched.
    await registerTinyStyle(t.registry, 'tiny-grain', [23]);
    const deadline0 = Date.now() + 10_000;
    while (!(await listStyles(client)).styles.find((s) => s.id === 'tiny-grain')?.versions.includes('3')) {
      if (Date.now() > deadline0) throw new Error('tiny-grain 3 never reached StyleService');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await t.service.close();
    // The live server still knows the catalogue; the cached model serves, the uncached one cannot be fetched.
    expect((await stylizeImage(client, header('tiny-wave', { version: '2' }), photo)).error).toBeUndefined();
    const uncached = await stylizeImage(client, header('tiny-grain', { version: '3' }), photo);
    expect(uncached.error?.code).toBe(status.UNAVAILABLE);
    expect(uncached.error?.details).toMatch(/is not cached on this StyleService, and TrainerService at .* cannot be reached .*start TrainerService or retry once it is back/);

    // A StyleService started now has only its saved catalogue and its cache.
    const restarted = await start(dir);
    const second = connect(restarted.port);
    try {
      expect((await listStyles(second)).styles.map((s) => s.id)).toEqual(['tiny-grain', 'tiny-wave']);
      const cachedStyle = await stylizeImage(second, header('tiny-grain', { version: '2' }), photo);
      expect(cachedStyle.error).toBeUndefined();
      const notCached = await stylizeImage(second, header('tiny-grain', { version: '3' }), photo);
      expect(notCached.error?.code).toBe(status.UNAVAILABLE);
      expect(notCached.error?.details).toMatch(/not cached .* TrainerService .* cannot be reached/);
    } finally {
      second.close();
      await restarted.close();
    }

    // TrainerService back: the model is fetched.
    await t.restart();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const back = await stylizeImage(client, header('tiny-grain', { version: '3' }), photo);
      if (!back.error) break;
      if (Date.now() > deadline) throw new Error(`still failing: ${back.error.details}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 60_000);
});

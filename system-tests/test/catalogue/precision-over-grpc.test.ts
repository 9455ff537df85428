/**
 * The precision a reply names is the precision that painted it, over real gRPC: StyleService
 * fetches a version's INT8 model from TrainerService with FetchModel where the version serves
 * INT8 (or NST_SERVE_PRECISION asks for it), the FP32 model otherwise, and falls back to FP32
 * for a version that has no INT8 model.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelPrecision, type StyleServiceClient } from '@nst/proto';
import { createLogger, JsonlFeedbackStore, type Precision } from '@nst/runtime';
import {
  LatestVersionResolver,
  launchStyleService,
  registryCatalog,
  startStyleServer,
  ThumbnailNormModel,
  type RunningStyleService,
  type StartedStyleService,
  type StyleServerConfig,
} from '@nst/inference';
import { connect, header, photoJpeg, registerTinyStyle, sha256, stylizeImage } from '@nst/test-kit';
import { startTrainer, type TrainerFixture } from '@nst/trainer/testing';
import { catalogueStyleConfig } from './style-config';

let t: TrainerFixture;
let dir: string;
let feedback: JsonlFeedbackStore;
let photo: Buffer;
const running: { style: StartedStyleService; client: StyleServiceClient }[] = [];

async function styleService(name: string, servePrecision?: StyleServerConfig['servePrecision']): Promise<{ style: StartedStyleService; client: StyleServiceClient }> {
  const style = await startStyleServer({
    config: { ...catalogueStyleConfig(join(dir, name), t.address), ...(servePrecision ? { servePrecision } : {}) },
    feedbackStore: feedback,
    logger: createLogger('precision-over-grpc', { level: 'silent' }),
    trainerWatch: { heartbeatSeconds: 1, backoff: { initialMs: 50, maxMs: 300 } },
  });
  const entry = { style, client: connect(style.port) };
  running.push(entry);
  return entry;
}

async function precisionOf(client: StyleServiceClient, style: string, version?: string): Promise<ModelPrecision | undefined> {
  const outcome = await stylizeImage(client, header(style, version ? { version } : {}), photo);
  expect(outcome.error).toBeUndefined();
  return outcome.summary?.precision;
}

beforeAll(async () => {
  t = await startTrainer();
  // Version 1 serves its INT8 model, version 2 has one but keeps to FP32; tiny-plain has none.
  await registerTinyStyle(t.registry, 'tiny-quant', [31], { int8: 'serve' });
  await registerTinyStyle(t.registry, 'tiny-quant', [32], { int8: 'keep' });
  await registerTinyStyle(t.registry, 'tiny-plain', [41]);
  dir = await mkdtemp(join(tmpdir(), 'nst-precision-'));
  feedback = await JsonlFeedbackStore.open(join(dir, 'feedback'));
  photo = await photoJpeg(48, 40);
}, 120_000);

afterAll(async () => {
  for (const { style, client } of running) {
    client.close();
    await style.close();
  }
  await feedback?.close();
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the precision StyleService serves', () => {
  it("follows each version's own choice by default, fetching the INT8 model only for the version that serves it", async () => {
    const { client } = await styleService('auto');
    expect(await precisionOf(client, 'tiny-quant', '1')).toBe(ModelPrecision.MODEL_PRECISION_INT8);
    expect(await precisionOf(client, 'tiny-quant', '2')).toBe(ModelPrecision.MODEL_PRECISION_FP32);
    expect(await precisionOf(client, 'tiny-plain')).toBe(ModelPrecision.MODEL_PRECISION_FP32);
    // What came over FetchModel: version 1's INT8 model, the others' FP32 ones.
    const cached = (await readdir(join(dir, 'auto', 'model-cache', 'models'))).sort();
    expect(cached).toEqual([
      `tiny-plain@1-${sha256(await t.registry.readModel('tiny-plain', 1))}.onnx`,
      `tiny-quant@1-${sha256(await t.registry.readModel('tiny-quant', 1, 'int8'))}.onnx`,
      `tiny-quant@2-${sha256(await t.registry.readModel('tiny-quant', 2))}.onnx`,
    ]);
  });

  it('serves INT8 wherever a version has it when told to, and FP32 where it has none', async () => {
    const { client } = await styleService('int8', 'int8');
    expect(await precisionOf(client, 'tiny-quant', '2')).toBe(ModelPrecision.MODEL_PRECISION_INT8);
    expect(await precisionOf(client, 'tiny-plain')).toBe(ModelPrecision.MODEL_PRECISION_FP32);
  });

  it('serves FP32 everywhere when told to, the INT8 default of a version included', async () => {
    const { client } = await styleService('fp32', 'fp32');
    expect(await precisionOf(client, 'tiny-quant', '1')).toBe(ModelPrecision.MODEL_PRECISION_FP32);
  });

  it('serves FP32, and says so, when the INT8 model a version serves cannot be loaded', async () => {
    // The catalogue hands out bytes ONNX Runtime cannot load for the INT8 model.
    const catalog = registryCatalog(t.registry);
    const damaged = { ...catalog, readModel: async (style: string, version: string, precision?: Precision) => (precision === 'int8' ? Uint8Array.of(1, 2, 3) : catalog.readModel(style, version, precision)) };
    const warnings: string[] = [];
    const service: RunningStyleService = await launchStyleService({
      address: '127.0.0.1:0',
      limits: { maxUploadBytes: 1_000_000, maxPixels: 1_000_000, chunkBytes: 64 * 1024, tileSize: 256, tileOverlap: 16, maxConcurrent: 1, queueLength: 4 },
      catalog: damaged,
      resolver: new LatestVersionResolver(damaged),
      feedback: { append: async () => undefined },
      photos: { dir: join(dir, 'damaged-photos'), holdBytes: 1024 * 1024, holdMs: 60_000, retentionMs: 60_000 },
      loadModel: (bytes, _style, _version, precision) => ThumbnailNormModel.load(bytes, { threads: 1 }, precision),
      logger: { info: () => undefined, warn: (_fields: object, message?: string) => void warnings.push(String(message)), error: () => undefined },
    });
    const client = connect(service.port);
    try {
      expect(await precisionOf(client, 'tiny-quant', '1')).toBe(ModelPrecision.MODEL_PRECISION_FP32);
      expect(warnings).toContain('could not load the quantized model; serving FP32');
    } finally {
      client.close();
      await service.close(0);
    }
  });
});

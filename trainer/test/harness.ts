/**
 * What the TrainerService integration tests share: a temporary data folder with a small set
 * of training photos, a real registry, the server on a free port, and promise-returning
 * client calls.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { JobState, LossNetwork, TrainerServiceClient, type CreateStyleHeader, type Job, type WatchJobResponse } from '@nst/proto';
import { JsonlFeedbackStore, ModelRegistry, type NewDerivedModel } from '@nst/runtime';
import type { StyleNetConfig } from '../src/model/network';
import { renderSwirl } from '../src/starter/style-images';
import { FeedbackStoreReader } from '../src/service/feedback-adapter';
import { RegistryAdapter } from '../src/service/registry-adapter';
import { launchTrainerService, type RunningTrainerService, type TrainerServiceOptions } from '../src/service/trainer-server';

export const ADMIN_TOKEN = 'test-admin-token';
/** Seconds-long jobs: 32 px crops, too small for the ImageNet loss, so the random one. */
export const TINY = { batchSize: 1, imageSize: 32, lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM } as const;

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Photos of varied colour and structure (gradients with shapes), small so decoding is cheap. */
export async function writeTrainingPhotos(dir: string, count = 3): Promise<void> {
  await mkdir(dir, { recursive: true });
  const palettes = [
    ['#2b5876', '#4e4376', '#f9d423'],
    ['#134e5e', '#71b280', '#e65c00'],
    ['#ff512f', '#dd2476', '#1fa2ff'],
    ['#56ab2f', '#a8e063', '#283c86'],
  ];
  for (let i = 0; i < count; i++) {
    const [a, b, c] = palettes[i % palettes.length]!;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="72">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></linearGradient></defs>
      <rect width="96" height="72" fill="url(#g)"/><circle cx="${30 + i * 12}" cy="36" r="${14 + i * 3}" fill="${c}"/>
      <rect x="${60 - i * 9}" y="10" width="18" height="40" fill="${b}" opacity="0.7"/></svg>`;
    await writeFile(path.join(dir, `photo-${i}.png`), await sharp(Buffer.from(svg)).png().toBuffer());
  }
}

/** A painting the project renders itself (the starter "swirl"), as a small JPEG. */
export async function painting(): Promise<Buffer> {
  return sharp(await renderSwirl()).resize(160).jpeg().toBuffer();
}

export interface TrainerFixture {
  root: string;
  dataDir: string;
  photosDir: string;
  registry: ModelRegistry;
  feedbackDir: string;
  keptPhotosDir: string;
  service: RunningTrainerService;
  client: TrainerServiceClient;
  address: string;
  /** Restarts the service on the same data (and port). */
  restart(overrides?: Partial<TrainerServiceOptions>): Promise<void>;
  close(): Promise<void>;
}

export async function startTrainer(overrides: Partial<TrainerServiceOptions> = {}): Promise<TrainerFixture> {
  const root = await mkdtemp(path.join(tmpdir(), 'nst-trainer-'));
  const dataDir = path.join(root, 'data');
  const photosDir = path.join(root, 'photos');
  await writeTrainingPhotos(photosDir);
  const registry = await ModelRegistry.open(path.join(dataDir, 'registry'));
  const feedbackDir = path.join(dataDir, 'feedback');
  const keptPhotosDir = path.join(dataDir, 'kept-photos');
  const options = (address: string): TrainerServiceOptions => ({
    address,
    jobsDir: path.join(dataDir, 'jobs'),
    adminToken: ADMIN_TOKEN,
    registry: new RegistryAdapter(registry),
    feedback: new FeedbackStoreReader(keptPhotosDir, () => JsonlFeedbackStore.open(feedbackDir, { readOnly: true })),
    photosDir,
    paintingLimits: { maxBytes: 200_000, maxPixels: 4_000_000 },
    keptPhotos: { dir: keptPhotosDir, retentionMs: 30 * 24 * 3_600_000 },
    checkpointEvery: 2,
    previewEvery: 2,
    logger: silentLogger,
    ...overrides,
  });
  let service = await launchTrainerService(options('127.0.0.1:0'));
  const address = `127.0.0.1:${service.port}`;
  let client = new TrainerServiceClient(address, credentials.createInsecure());
  const fixture: TrainerFixture = {
    root,
    dataDir,
    photosDir,
    registry,
    feedbackDir,
    keptPhotosDir,
    get service() {
      return service;
    },
    get client() {
      return client;
    },
    address,
    async restart(more = {}) {
      client.close();
      await service.close();
      service = await launchTrainerService({ ...options(address), ...more });
      client = new TrainerServiceClient(address, credentials.createInsecure());
    },
    async close() {
      client.close();
      await service.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

export function admin(token = ADMIN_TOKEN): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** Calls a unary method; resolves with the response or rejects with the ServiceError. */
export function call<Req, Res>(
  client: TrainerServiceClient,
  // The overload with call options: TypeScript infers from a method's last overload.
  method: (request: Req, metadata: Metadata, options: object, callback: (error: ServiceError | null, response: Res) => void) => unknown,
  request: Req,
  metadata = new Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, {}, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export type CreateStyleMessage = { header: CreateStyleHeader } | { chunk: Buffer };

/** Streams CreateStyle messages; resolves with the job or rejects with the ServiceError. */
export function createStyle(client: TrainerServiceClient, messages: CreateStyleMessage[], metadata = admin()): Promise<Job> {
  return new Promise((resolve, reject) => {
    const stream = client.createStyle(metadata, (error, response) => (error ? reject(error) : resolve(response.job!)));
    for (const message of messages) {
      stream.write(
        'header' in message
          ? { kind: { $case: 'header', header: message.header } }
          : { kind: { $case: 'paintingChunk', paintingChunk: message.chunk } },
      );
    }
    stream.end();
  });
}

/** A header for a tiny job. */
export function header(styleId: string, steps: number): CreateStyleHeader {
  return { styleId, displayName: `Test ${styleId}`, description: 'Trained by a test.', hyperparameters: { steps, ...TINY } };
}

/** Collects WatchJob updates until the stream ends. */
export function watchToEnd(client: TrainerServiceClient, jobId: string, onUpdate?: (update: WatchJobResponse) => void): Promise<WatchJobResponse[]> {
  return new Promise((resolve, reject) => {
    const updates: WatchJobResponse[] = [];
    const stream = client.watchJob({ jobId });
    stream.on('data', (update: WatchJobResponse) => {
      updates.push(update);
      onUpdate?.(update);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(updates));
  });
}

export const FINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** A small seeded network: real ONNX that StyleService can run, exported in milliseconds. */
export const TINY_NETWORK: StyleNetConfig = { channels: [4, 8, 8], residualBlocks: 1, outerKernel: 3 };

/**
 * Creates style `id` in the registry with one version per seed (untrained networks through the
 * real exporter), the way a finished job registers them; resolves with the version numbers.
 */
export async function registerTinyStyle(
  registry: ModelRegistry,
  id: string,
  seeds: number[],
  options: {
    /** Give each version an INT8 model (calibrated on synthetic photos): served by default, or only kept. */
    int8?: 'serve' | 'keep';
  } = {},
): Promise<number[]> {
  // TF.js loads only in the tests that export models.
  const { EXPORTER_VERSION, calibrate, exportOnnx, imageConvs, initBackend, quantizeQdq, QUANTIZER_VERSION, StyleNet } = await import('../src/index');
  await initBackend('wasm');
  if (!(await registry.hasStyle(id))) {
    await registry.createStyle({
      id,
      displayName: `Tiny ${id}`,
      description: 'A seeded, untrained network for tests.',
      origin: 'trainer/test/harness.ts',
      licence: 'Apache-2.0 (project-made)',
      styleImage: await painting(),
    });
  }
  const versions: number[] = [];
  for (const seed of seeds) {
    const net = StyleNet.create(TINY_NETWORK, seed);
    try {
      const parent = (await registry.listVersions(id)).at(-1)?.version ?? null;
      const model = exportOnnx(net);
      let int8: NewDerivedModel | undefined;
      if (options.int8) {
        const keepFloat = imageConvs(model);
        const photos = [1, 2].map((k) => ({ width: 40, height: 32, pixels: Float32Array.from({ length: 40 * 32 * 3 }, (_, i) => ((i * k * 7) % 97) / 96) }));
        const calibration = await calibrate(model, photos, { keepFloat, threads: 1 });
        int8 = {
          model: quantizeQdq(model, calibration.percentile, { keepFloat }),
          quantizerVersion: QUANTIZER_VERSION,
          calibration: { method: 'percentile', photos: photos.length },
          quality: {},
          passed: options.int8 === 'serve',
        };
      }
      const record = await registry.registerVersion(id, {
        model,
        ...(int8 ? { derivedModels: { int8 } } : {}),
        weights: net.serialize(),
        metadata: {
          parentVersion: parent,
          exporterVersion: EXPORTER_VERSION,
          network: { ...TINY_NETWORK },
          hyperparameters: { seed },
          dataHashes: { styleImage: 'test', photos: 'test' },
          losses: {},
          origin: parent === null ? 'train' : 'finetune',
          ...(options.int8 === 'serve' ? { servePrecision: 'int8' as const } : {}),
        },
      });
      versions.push(record.version);
    } finally {
      net.dispose();
    }
  }
  return versions;
}

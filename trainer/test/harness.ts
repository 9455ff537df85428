/**
 * TrainerService in this process for tests (exported as @nst/trainer/testing, so tests that
 * assemble several services start it the same way): a temporary data folder with a small set
 * of training photos, a real registry, the server on a free port, a client, restart and close.
 * (Tiny seeded styles: @nst/test-kit's registerTinyStyle.)
 */
import { credentials } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TrainerServiceClient } from '@nst/proto';
import { JsonlFeedbackStore, ModelRegistry } from '@nst/runtime';
import { ADMIN_TOKEN, writeTrainingPhotos } from '@nst/test-kit';
import { FeedbackStoreReader } from '../src/service/feedback-adapter';
import { RegistryAdapter } from '../src/service/registry-adapter';
import { launchTrainerService, type RunningTrainerService, type TrainerServiceOptions } from '../src/service/trainer-server';

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

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

/**
 * A real StyleService for integration tests: a temporary registry holding real exported style
 * networks (small, seeded StyleNets through the real exporter, so CI stays fast), the
 * embedded feedback store, and startStyleServer on a free port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, JsonlFeedbackStore, ModelRegistry, type FeedbackRecord } from '@nst/runtime';
import sharp from 'sharp';
import { loadStyleConfig } from '../src/config';
import { StyleModel, bytesFromRgb } from '../src/engine/style-model';
import { decodeImage } from '../src/pipeline/image-codec';
import { countTiles } from '../src/pipeline/tiling';
import type { RunningStyleService } from '../src/server/style-service-server';
import { startStyleServer, type StyleServerConfig } from '../src/server/style-server';
import { registerTinyStyle } from '@nst/test-kit';

export interface Harness {
  port: number;
  service: RunningStyleService;
  limits: StyleServerConfig;
  styles: { primary: string; primaryVersions: string[]; secondary: string };
  /** Tiles a width x height image is stylized in under these limits. */
  tilesFor(width: number, height: number): number;
  /** The network's own output for an encoded photo (decoded as the server decodes), 8-bit RGB. */
  paintDirectly(style: string, version: string, image: Uint8Array): Promise<Uint8Array>;
  feedbackEntries(): Promise<FeedbackRecord[]>;
  close(): Promise<void>;
}

export async function startHarness(overrides: Partial<StyleServerConfig> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'nst-style-service-'));
  const base = loadStyleConfig({ NST_DATA_DIR: dir });
  const limits: StyleServerConfig = {
    styleAddr: '127.0.0.1:0',
    maxUploadBytes: 4 * 1024 * 1024,
    maxPixels: 4_000_000,
    chunkBytes: 64 * 1024,
    maxConcurrent: 2,
    queueLength: 2,
    tileSize: 256,
    tileOverlap: 32,
    inferenceThreads: 1,
    keptPhotosDir: join(dir, 'kept-photos'),
    feedbackRetentionDays: 30,
    ...overrides,
  };
  const registry = await ModelRegistry.open(base.registryDir);
  await registerTinyStyle(registry, 'tiny-wave', [11, 12]);
  await registerTinyStyle(registry, 'tiny-grain', [21]);
  const feedbackStore = await JsonlFeedbackStore.open(base.feedbackDir);
  const service = await startStyleServer({
    config: limits,
    registry,
    feedbackStore,
    logger: createLogger('style-service-test', { level: 'silent' }),
    // Long enough for a slow, loaded CI machine between chunks; short enough to test.
    uploadIdleMs: 4000,
  });
  return {
    port: service.port,
    service,
    limits,
    styles: { primary: 'tiny-wave', primaryVersions: ['1', '2'], secondary: 'tiny-grain' },
    tilesFor: (width, height) => countTiles(width, height, limits.tileSize, limits.tileOverlap),
    paintDirectly: async (style, version, image) => {
      const decoded = await decodeImage(image, { maxPixels: limits.maxPixels, maxDimension: 0 });
      const model = await StyleModel.load(await registry.readModel(style, version), { threads: 1 });
      try {
        const data = Float32Array.from(decoded.pixels, (v) => v / 255);
        return bytesFromRgb(await model.run({ data, width: decoded.width, height: decoded.height }));
      } finally {
        await model.dispose();
      }
    },
    feedbackEntries: () => feedbackStore.query(),
    close: async () => {
      await service.close(1000);
      await feedbackStore.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Decoded size of an encoded image. */
export async function dimensions(image: Uint8Array): Promise<[number, number]> {
  const { width, height } = await sharp(image).metadata();
  return [width ?? 0, height ?? 0];
}

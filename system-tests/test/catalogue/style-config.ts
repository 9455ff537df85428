import { join } from 'node:path';
import { ADMIN_TOKEN } from '@nst/test-kit';
import type { StyleServerConfig } from '@nst/inference';

/**
 * A small StyleService that keeps its own data under `dataDir` and fetches every model from the
 * TrainerService at `trainerAddr`: the setting the catalogue's system tests share.
 */
export function catalogueStyleConfig(dataDir: string, trainerAddr: string): StyleServerConfig {
  return {
    styleAddr: '127.0.0.1:0',
    maxUploadBytes: 1_000_000,
    maxPixels: 1_000_000,
    chunkBytes: 64 * 1024,
    maxConcurrent: 2,
    queueLength: 8,
    tileSize: 256,
    tileOverlap: 16,
    inferenceThreads: 1,
    keptPhotosDir: join(dataDir, 'kept-photos'),
    feedbackRetentionDays: 30,
    trainerAddr,
    modelCacheDir: join(dataDir, 'model-cache'),
    modelCacheMib: 64,
    adminToken: ADMIN_TOKEN,
  };
}

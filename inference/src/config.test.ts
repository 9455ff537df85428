import { ConfigError } from '@nst/runtime/config';
import { describe, expect, it } from 'vitest';
import { loadStyleConfig } from './config';

describe("StyleService's settings", () => {
  it('default to one-thread sessions, two at a time, tiles of 512 px, a cache under the data folder', () => {
    const config = loadStyleConfig({}, { cwd: '/srv/nst' });
    expect(config.inferenceThreads).toBe(1);
    expect([config.modelSessions, config.tilesInFlight, config.inferenceMemoryArena]).toEqual([2, 2, false]);
    expect([config.maxConcurrent, config.queueLength, config.queuePerClient]).toEqual([2, 16, 4]);
    expect([config.tileSize, config.tileOverlap]).toEqual([512, 32]);
    expect(config.modelCacheDir).toBe('/srv/nst/.data/style/model-cache');
    expect(config.routingStateFile).toBe('/srv/nst/.data/style/last-rollouts.json');
    // With the core and the stores'.
    expect([config.styleAddr, config.feedbackDir]).toEqual(['127.0.0.1:50051', '/srv/nst/.data/feedback']);
  });

  it.each([
    ['NST_INFERENCE_THREADS', '0', 'at least 1'],
    ['NST_INFERENCE_MEMORY_ARENA', 'yes', 'true or false'],
    ['NST_TILE_OVERLAP', '300', 'half of NST_TILE_SIZE'],
  ])('rejects %s=%s with an error naming the variable', (name, value, why) => {
    expect(() => loadStyleConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadStyleConfig({ [name]: value })).toThrow(new RegExp(`${name}="${value}".*${why}`));
  });

  it('reports every bad variable at once', () => {
    expect(() => loadStyleConfig({ NST_QUEUE_LENGTH: 'x', NST_TILE_SIZE: 'y', NST_CHUNK_BYTES: 'z' })).toThrow(/NST_CHUNK_BYTES.*NST_QUEUE_LENGTH.*NST_TILE_SIZE/);
  });
});

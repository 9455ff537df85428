import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configDocs, configDocsMarkdown, loadConfig } from './config';

describe('loadConfig', () => {
  it('fills every setting from its default when the environment is empty', () => {
    const config = loadConfig({}, { cwd: '/srv/nst' });
    expect(config.dataDir).toBe('/srv/nst/.data');
    expect(config.registryDir).toBe('/srv/nst/.data/registry');
    expect(config.feedbackDir).toBe('/srv/nst/.data/feedback');
    expect(config.styleAddr).toBe('127.0.0.1:50051');
    expect(config.trainerAddr).toBe('127.0.0.1:50052');
    expect(config.releaseAddr).toBe('127.0.0.1:50053');
    expect(config.gatewayPort).toBe(8080);
    expect(config.inferenceThreads).toBe(1);
    expect([config.modelSessions, config.tilesInFlight, config.inferenceMemoryArena]).toEqual([2, 2, false]);
    expect(config.maxUploadBytes).toBe(32 * 1024 * 1024);
    expect(config.maxPixels).toBe(50_000_000);
    expect(config.chunkBytes).toBe(256 * 1024);
    expect(config.maxConcurrent).toBe(2);
    expect(config.queueLength).toBe(16);
    expect(config.tileSize).toBe(512);
    expect(config.tileOverlap).toBe(32);
    expect(config.logLevel).toBe('info');
    expect(config.feedbackRetentionDays).toBe(30);
    expect(config.adminToken).toBeUndefined();
    expect(config.photosDir).toBeUndefined();
    expect(config.finetuneBadRatio).toBe(0.3);
  });

  it('finds the starter styles from the package location, not the working directory', () => {
    const config = loadConfig({}, { cwd: '/somewhere/else' });
    expect(config.starterDir).toBe(resolve(import.meta.dirname, '../../trainer/starter-styles'));
    expect(existsSync(resolve(config.starterDir, '..', 'package.json'))).toBe(true);
  });

  it('takes overrides from the environment, with derived folders following NST_DATA_DIR', () => {
    const config = loadConfig(
      {
        NST_DATA_DIR: 'state',
        NST_GATEWAY_PORT: '9090',
        NST_STYLE_ADDR: 'inference.local:6000',
        NST_ADMIN_TOKEN: 's3cret',
        NST_LOG_LEVEL: 'debug',
        NST_FINETUNE_BAD_RATIO: '0.5',
        NST_GATEWAY_CORS_ORIGINS: 'https://a.example, https://b.example',
        NST_TRAINER_ADDR: '[::1]:7000',
      },
      { cwd: '/srv' },
    );
    expect(config.dataDir).toBe('/srv/state');
    expect(config.registryDir).toBe('/srv/state/registry');
    expect(config.gatewayPort).toBe(9090);
    expect(config.styleAddr).toBe('inference.local:6000');
    expect(config.trainerAddr).toBe('[::1]:7000');
    expect(config.adminToken).toBe('s3cret');
    expect(config.logLevel).toBe('debug');
    expect(config.finetuneBadRatio).toBe(0.5);
    expect(config.gatewayCorsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ NST_GATEWAY_PORT: '', NST_ADMIN_TOKEN: ' ' }).gatewayPort).toBe(8080);
    expect(loadConfig({ NST_ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
  });

  it('logs pretty on a terminal and ECS JSON otherwise, unless NST_LOG_FORMAT says', () => {
    expect(loadConfig({}, { stdoutIsTTY: true }).logFormat).toBe('pretty');
    expect(loadConfig({}, { stdoutIsTTY: false }).logFormat).toBe('json');
    expect(loadConfig({ NST_LOG_FORMAT: 'json' }, { stdoutIsTTY: true }).logFormat).toBe('json');
    expect(loadConfig({ NST_LOG_FORMAT: 'pretty' }, { stdoutIsTTY: false }).logFormat).toBe('pretty');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.gatewayCorsOrigins)).toBe(true);
  });

  it.each([
    ['NST_GATEWAY_PORT', 'eighty', 'whole number'],
    ['NST_GATEWAY_PORT', '70000', 'at most 65535'],
    ['NST_INFERENCE_THREADS', '0', 'at least 1'],
    ['NST_MAX_UPLOAD_BYTES', '-5', 'whole number'],
    ['NST_STYLE_ADDR', 'localhost', 'host:port'],
    ['NST_LOG_LEVEL', 'loud', 'one of'],
    ['NST_LOG_FORMAT', 'colour', 'one of json, pretty'],
    ['NST_FINETUNE_BAD_RATIO', '1.5', 'at most 1'],
    ['NST_TILE_OVERLAP', '300', 'half of NST_TILE_SIZE'],
  ])('rejects %s=%s with an error naming the variable', (name, value, why) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`${name}="${value}"`);
    expect((error as Error).message).toContain(why);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ NST_QUEUE_LENGTH: 'x', NST_TILE_SIZE: 'y' })).toThrow(/NST_QUEUE_LENGTH.*NST_TILE_SIZE/);
  });
});

describe('configDocs', () => {
  it('documents every variable loadConfig reads, with a default and a description', () => {
    const docs = configDocs();
    expect(docs.map((d) => d.name)).toContain('NST_FINETUNE_COOLDOWN_MINUTES');
    for (const doc of docs) {
      // The Elasticsearch connection keeps the names its client and the issue use (ELASTICSEARCH_URL...).
      expect(doc.name).toMatch(/^(NST_[A-Z_]+|ELASTICSEARCH_(URL|API_KEY|USERNAME|PASSWORD))$/);
      expect(doc.description.length).toBeGreaterThan(10);
      expect(doc.default.length).toBeGreaterThan(0);
    }
    expect(configDocsMarkdown()).toContain('| `NST_MAX_UPLOAD_BYTES` | 33554432 (32 MiB) |');
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, CORE_SETTINGS, loadConfig, loadSettings, loadStoreConfig, setting, settingsDocs, settingsDocsMarkdown, settingsGroup, STORE_SETTINGS, underDataDir, wholeNumber } from './config';

/** A group like a service's, to see groups read together. */
const SAMPLE = settingsGroup(
  'A sample service',
  {
    sampleDir: setting({ env: 'NST_SAMPLE_DIR', ...underDataDir('sample'), schema: z.string().min(1), description: 'A folder of the sample service.' }),
    low: setting({ env: 'NST_SAMPLE_LOW', default: '1', schema: wholeNumber(0), description: 'The lower of two numbers.' }),
    high: setting({ env: 'NST_SAMPLE_HIGH', default: '2', schema: wholeNumber(0), description: 'The higher of two numbers.' }),
  },
  ({ low, high }) => (low < high ? [] : [{ env: 'NST_SAMPLE_LOW', value: String(low), message: `must be less than NST_SAMPLE_HIGH (${high})` }]),
);

describe('loadConfig (the settings every process reads)', () => {
  it('fills every setting from its default when the environment is empty', () => {
    const config = loadConfig({}, { cwd: '/srv/nst' });
    expect(config.dataDir).toBe('/srv/nst/.data');
    expect(config.registryDir).toBe('/srv/nst/.data/registry');
    expect(config.styleAddr).toBe('127.0.0.1:50051');
    expect(config.trainerAddr).toBe('127.0.0.1:50052');
    expect(config.releaseAddr).toBe('127.0.0.1:50053');
    expect(config.maxUploadBytes).toBe(32 * 1024 * 1024);
    expect(config.maxPixels).toBe(50_000_000);
    expect(config.chunkBytes).toBe(256 * 1024);
    expect(config.logLevel).toBe('info');
    expect(config.adminToken).toBeUndefined();
  });

  it('takes overrides from the environment, with derived folders following NST_DATA_DIR', () => {
    const config = loadStoreConfig(
      { NST_DATA_DIR: 'state', NST_STYLE_ADDR: 'inference.local:6000', NST_ADMIN_TOKEN: 's3cret', NST_LOG_LEVEL: 'debug', NST_TRAINER_ADDR: '[::1]:7000' },
      { cwd: '/srv' },
    );
    expect(config.dataDir).toBe('/srv/state');
    expect(config.registryDir).toBe('/srv/state/registry');
    expect(config.feedbackDir).toBe('/srv/state/feedback');
    expect(config.eventsDir).toBe('/srv/state/events');
    expect(config.styleAddr).toBe('inference.local:6000');
    expect(config.trainerAddr).toBe('[::1]:7000');
    expect(config.adminToken).toBe('s3cret');
    expect(config.logLevel).toBe('debug');
    expect(config.feedbackRetentionDays).toBe(30);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ NST_CHUNK_BYTES: '', NST_ADMIN_TOKEN: ' ' }).chunkBytes).toBe(256 * 1024);
    expect(loadConfig({ NST_ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
  });

  it('logs pretty on a terminal and ECS JSON otherwise, unless NST_LOG_FORMAT says', () => {
    expect(loadConfig({}, { stdoutIsTTY: true }).logFormat).toBe('pretty');
    expect(loadConfig({}, { stdoutIsTTY: false }).logFormat).toBe('json');
    expect(loadConfig({ NST_LOG_FORMAT: 'json' }, { stdoutIsTTY: true }).logFormat).toBe('json');
    expect(loadConfig({ NST_LOG_FORMAT: 'pretty' }, { stdoutIsTTY: false }).logFormat).toBe('pretty');
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it.each([
    ['NST_MAX_UPLOAD_BYTES', '-5', 'whole number'],
    ['NST_CHUNK_BYTES', '100', 'at least 1024'],
    ['NST_STYLE_ADDR', 'localhost', 'host:port'],
    ['NST_RELEASE_ADDR', 'localhost:70000', 'at most 65535'],
    ['NST_LOG_LEVEL', 'loud', 'one of'],
    ['NST_LOG_FORMAT', 'colour', 'one of json, pretty'],
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
});

describe('loadSettings (groups read together)', () => {
  it("derives a group's folders from the core's NST_DATA_DIR and returns the values of every group", () => {
    const config = loadSettings([CORE_SETTINGS, SAMPLE], { NST_DATA_DIR: '/var/nst', NST_SAMPLE_HIGH: '5' });
    expect(config.sampleDir).toBe('/var/nst/sample');
    expect([config.low, config.high, config.styleAddr]).toEqual([1, 5, '127.0.0.1:50051']);
  });

  it("reports every bad variable of every group at once, with a group's own checks", () => {
    expect(() => loadSettings([CORE_SETTINGS, SAMPLE], { NST_CHUNK_BYTES: 'x', NST_SAMPLE_HIGH: 'y' })).toThrow(/NST_CHUNK_BYTES.*NST_SAMPLE_HIGH/);
    expect(() => loadSettings([CORE_SETTINGS, SAMPLE], { NST_SAMPLE_LOW: '3' })).toThrow(/NST_SAMPLE_LOW="3" must be less than NST_SAMPLE_HIGH \(2\)/);
  });
});

describe('settingsDocs', () => {
  it('documents every variable of a group, with a default and a description', () => {
    for (const group of [CORE_SETTINGS, STORE_SETTINGS]) {
      for (const doc of settingsDocs(group)) {
        // The Elasticsearch connection keeps the names its client and the issue use (ELASTICSEARCH_URL...).
        expect(doc.name).toMatch(/^(NST_[A-Z_]+|ELASTICSEARCH_(URL|API_KEY|USERNAME|PASSWORD))$/);
        expect(doc.description.length).toBeGreaterThan(10);
        expect(doc.default.length).toBeGreaterThan(0);
      }
    }
    const markdown = settingsDocsMarkdown([CORE_SETTINGS, SAMPLE]);
    expect(markdown).toContain('| `NST_MAX_UPLOAD_BYTES` | 33554432 (32 MiB) |');
    expect(markdown).toContain('#### A sample service\n\n| Variable | Default | Description |');
    expect(markdown).toContain('| `NST_SAMPLE_DIR` | `<NST_DATA_DIR>/sample` |');
  });
});

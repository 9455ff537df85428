import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_WASM_THREADS } from './kernels/wasm-threads';
import { jobThreads, loadTrainerConfig } from './config';

describe("TrainerService's settings", () => {
  it('find the starter styles from the package location, not the working directory', () => {
    const config = loadTrainerConfig({}, { cwd: '/somewhere/else' });
    expect(config.starterDir).toBe(resolve(import.meta.dirname, '../starter-styles'));
    expect(existsSync(resolve(config.starterDir, '..', 'package.json'))).toBe(true);
  });

  it('default the fine-tune trigger and put jobs and kept photos under the data folder', () => {
    const config = loadTrainerConfig({ NST_DATA_DIR: 'state' }, { cwd: '/srv' });
    expect([config.jobsDir, config.keptPhotosDir]).toEqual(['/srv/state/jobs', '/srv/state/kept-photos']);
    expect(config.photosDir).toBeUndefined();
    expect([config.finetuneMinBad, config.finetuneBadRatio, config.finetuneWindowMinutes]).toEqual([10, 0.3, 1440]);
    expect(loadTrainerConfig({ NST_FINETUNE_BAD_RATIO: '0.5' }).finetuneBadRatio).toBe(0.5);
  });

  it('reject a share of bad ratings above 1', () => {
    expect(() => loadTrainerConfig({ NST_FINETUNE_BAD_RATIO: '1.5' })).toThrow(/NST_FINETUNE_BAD_RATIO="1.5" must be at most 1/);
  });

  it("share the machine's cores out among the jobs that run at once, unless NST_TRAIN_THREADS names a count", () => {
    expect(jobThreads(loadTrainerConfig({}), 2)).toBe(2);
    expect(jobThreads(loadTrainerConfig({ NST_TRAINER_CONCURRENCY: '2' }), 2)).toBe(1);
    expect(jobThreads(loadTrainerConfig({ NST_TRAINER_CONCURRENCY: '3' }), 2)).toBe(1);
    expect(jobThreads(loadTrainerConfig({}), 64)).toBe(MAX_WASM_THREADS);
    expect(jobThreads(loadTrainerConfig({ NST_TRAIN_THREADS: '1' }), 16)).toBe(1);
    expect(jobThreads(loadTrainerConfig({ NST_TRAIN_THREADS: String(MAX_WASM_THREADS) }), 2)).toBe(MAX_WASM_THREADS);
  });

  it('refuse a thread count the WASM backend cannot run, naming the variable', () => {
    expect(() => loadTrainerConfig({ NST_TRAIN_THREADS: 'two' })).toThrow(/NST_TRAIN_THREADS="two" must be auto or a whole number/);
    expect(() => loadTrainerConfig({ NST_TRAIN_THREADS: '0' })).toThrow(/NST_TRAIN_THREADS="0" must be at least 1/);
    expect(() => loadTrainerConfig({ NST_TRAIN_THREADS: String(MAX_WASM_THREADS + 1) })).toThrow(/must be at most 8/);
  });
});

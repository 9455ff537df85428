import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTrainerConfig } from './config';

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
});

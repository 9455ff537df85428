import { describe, expect, it } from 'vitest';
import { loadReleaseConfig } from './config';

describe("ReleaseService's settings", () => {
  it('default to local mode, automatic canaries on the 10-25-50-100 ladder, judged every minute', () => {
    const config = loadReleaseConfig({}, { cwd: '/srv/nst' });
    expect([config.releaseMode, config.autoRelease, config.analysisIntervalSeconds]).toEqual(['local', true, 60]);
    expect(config.canaryLadder).toEqual([10, 25, 50, 100]);
    expect(Object.isFrozen(config.canaryLadder)).toBe(true);
    expect(config.releasesDir).toBe('/srv/nst/.data/releases');
  });

  it.each([
    ['10,5,100', 'ascending'],
    ['10,25,50', 'must be 100'],
    ['0,100', 'from 1 to 100'],
    ['ten', 'comma-separated whole percentages'],
  ])('refuse the canary ladder %s', (value, why) => {
    expect(() => loadReleaseConfig({ NST_CANARY_LADDER: value })).toThrow(new RegExp(`NST_CANARY_LADDER="${value}".*${why}`));
  });
});

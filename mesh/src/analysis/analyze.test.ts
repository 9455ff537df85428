import { describe, expect, it } from 'vitest';
import { analyze, nextLadderWeight, type AnalysisSettings, type ArmFigures } from './analyze';

const settings: AnalysisSettings = {
  ladder: [10, 25, 50, 100],
  minRatings: 20,
  minCalls: 20,
  alpha: 0.05,
  errorMargin: 0.02,
  latencyRatio: 1.5,
  minStepSeconds: 60,
};
const arm = (overrides: Partial<ArmFigures> = {}): ArmFigures => ({ good: 16, bad: 4, requests: 40, errors: 0, p95LatencyMs: 100, ...overrides });
const input = (canary: Partial<ArmFigures>, extra: { weight?: number; secondsAtWeight?: number; stable?: Partial<ArmFigures> } = {}) => ({
  weight: extra.weight ?? 10,
  secondsAtWeight: extra.secondsAtWeight ?? 120,
  stable: arm(extra.stable),
  canary: arm(canary),
});

describe('analyze', () => {
  it('holds with insufficient data until both arms have the minimum ratings', () => {
    const verdict = analyze(settings, input({ good: 10, bad: 2 }));
    expect(verdict.action).toBe('hold');
    expect(verdict.checks.find((c) => c.name === 'approval')?.result).toBe('insufficient_data');
    expect(verdict.reason).toMatch(/insufficient data/);
  });

  it('rolls back at once when the canary is rated significantly worse, even without other data', () => {
    const verdict = analyze(settings, input({ good: 6, bad: 14, requests: 3 }, { stable: { good: 18, bad: 2 } }));
    expect(verdict.action).toBe('rollback');
    const approval = verdict.checks.find((c) => c.name === 'approval');
    expect(approval?.result).toBe('fail');
    expect(approval?.pValue).toBeLessThan(0.05);
  });

  it('does not roll back on a small difference the test cannot tell from chance', () => {
    expect(analyze(settings, input({ good: 14, bad: 6 })).action).toBe('step_up');
  });

  it('counts server-fault errors against the canary, beyond the margin over stable', () => {
    expect(analyze(settings, input({ errors: 1, requests: 100 }, { stable: { requests: 100 } })).action).toBe('step_up');
    const verdict = analyze(settings, input({ errors: 4, requests: 40 }));
    expect(verdict.action).toBe('rollback');
    expect(verdict.checks.find((c) => c.name === 'error_rate')).toMatchObject({ result: 'fail', canaryValue: 0.1, threshold: 0.02 });
  });

  it('rolls back when the canary p95 is over the latency ratio', () => {
    const verdict = analyze(settings, input({ p95LatencyMs: 151 }));
    expect(verdict.action).toBe('rollback');
    expect(verdict.checks.find((c) => c.name === 'p95_latency')).toMatchObject({ result: 'fail', threshold: 150 });
  });

  it('does not judge a p95 from fewer than 20 calls (it would be the single slowest, a cold model load)', () => {
    const verdict = analyze({ ...settings, minCalls: 5 }, input({ p95LatencyMs: 900, requests: 19 }));
    expect(verdict.action).toBe('hold');
    expect(verdict.checks.find((c) => c.name === 'p95_latency')?.result).toBe('insufficient_data');
  });

  it('holds a healthy canary until its step has run long enough, then steps up the ladder and promotes after the last', () => {
    expect(analyze(settings, input({}, { secondsAtWeight: 30 })).action).toBe('hold');
    expect(analyze(settings, input({}, { weight: 10 }))).toMatchObject({ action: 'step_up', weightAfter: 25 });
    expect(analyze(settings, input({}, { weight: 25 }))).toMatchObject({ action: 'step_up', weightAfter: 50 });
    expect(analyze(settings, input({}, { weight: 50 }))).toMatchObject({ action: 'promote', weightAfter: 100 });
    expect(analyze(settings, input({}, { weight: 30 }))).toMatchObject({ action: 'step_up', weightAfter: 50 });
    expect(nextLadderWeight([10, 100], 10)).toBeUndefined();
  });
});

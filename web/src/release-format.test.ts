import { describe, expect, it } from 'vitest';
import { CheckResult, DecisionAction } from './gen/nst/v1/release_service';
import { approvalText, checkText, healthText, weightChangeText } from './release-format';

const stats = (over: Partial<Parameters<typeof approvalText>[0] & object> = {}) => ({
  version: '2', requests: 0, errors: 0, goodRatings: 0, badRatings: 0, approvalRate: 0, errorRate: 0, p95LatencyMs: 0, ...over,
});

describe('rollout figures for people', () => {
  it('gives approval with its sample size, and says when there are no ratings', () => {
    expect(approvalText(stats({ goodRatings: 34, badRatings: 8, approvalRate: 34 / 42 }))).toBe('81% of 42 ratings');
    expect(approvalText(stats({ goodRatings: 1, approvalRate: 1 }))).toBe('100% of 1 rating');
    expect(approvalText(stats())).toBe('no ratings yet');
    expect(approvalText(undefined)).toBe('—');
  });

  it('keeps a decimal for small error rates so 0.4% does not read as 0%', () => {
    expect(healthText(stats({ requests: 250, errors: 1, errorRate: 0.004, p95LatencyMs: 1234 }))).toBe('250 calls, 0.4% errors, p95 1.2 s');
    expect(healthText(stats())).toBe('no calls yet');
  });

  it('writes a check with both values, the limit, the p-value and the samples', () => {
    const text = checkText({
      name: 'approval', result: CheckResult.CHECK_RESULT_FAIL, stableValue: 0.8, canaryValue: 0.4, threshold: 0.05,
      pValue: 0.00123, stableSamples: 60, canarySamples: 20, detail: 'canary rated worse',
    });
    expect(text).toBe('approval: FAIL (canary 0.400 vs stable 0.800, limit 0.050, p = 0.0012; 20/60 samples) — canary rated worse');
  });

  it('says a promoted canary went to 100%, not to the 0% the record keeps once there is no canary', () => {
    const at = (action: DecisionAction, weightBefore: number, weightAfter: number) => weightChangeText({ action, weightBefore, weightAfter });
    expect(at(DecisionAction.DECISION_ACTION_PROMOTE, 10, 0)).toBe('weight 10% → 100%, now the stable version');
    expect(at(DecisionAction.DECISION_ACTION_ROLLBACK, 25, 0)).toBe('weight 25% → 0%, no longer served');
    expect(at(DecisionAction.DECISION_ACTION_HOLD, 10, 10)).toBe('weight stays 10%');
    expect(at(DecisionAction.DECISION_ACTION_STEP_UP, 10, 25)).toBe('weight 10% → 25%');
  });
});

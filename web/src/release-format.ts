/** Rollout figures and decisions as a person reads them (pure, unit-tested). */
import { formatLoss, formatMs } from './format';
import { CheckResult, DecisionAction, type Check, type Decision, type VersionStats } from './gen/nst/v1/release_service';

export const ACTION_LABEL: Record<number, string> = {
  [DecisionAction.DECISION_ACTION_START]: 'Canary started',
  [DecisionAction.DECISION_ACTION_HOLD]: 'Held',
  [DecisionAction.DECISION_ACTION_STEP_UP]: 'Stepped up',
  [DecisionAction.DECISION_ACTION_PROMOTE]: 'Promoted',
  [DecisionAction.DECISION_ACTION_ROLLBACK]: 'Rolled back',
  [DecisionAction.DECISION_ACTION_SET_WEIGHT]: 'Weight set by hand',
};

const CHECK_LABEL: Record<number, string> = {
  [CheckResult.CHECK_RESULT_PASS]: 'pass',
  [CheckResult.CHECK_RESULT_FAIL]: 'FAIL',
  [CheckResult.CHECK_RESULT_INSUFFICIENT_DATA]: 'waiting for data',
};

const percent = (rate: number): string => `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)}%`;

/** "81% of 42 ratings" — approval with its sample, so a small sample reads as one. */
export function approvalText(stats: VersionStats | undefined): string {
  if (!stats) return '—';
  const ratings = stats.goodRatings + stats.badRatings;
  return ratings === 0 ? 'no ratings yet' : `${percent(stats.approvalRate)} of ${ratings} rating${ratings === 1 ? '' : 's'}`;
}

export function healthText(stats: VersionStats | undefined): string {
  if (!stats || stats.requests === 0) return 'no calls yet';
  return `${stats.requests} calls, ${percent(stats.errorRate)} errors, p95 ${formatMs(stats.p95LatencyMs)}`;
}

/** One check as a sentence with its numbers. */
export function checkText(check: Check): string {
  const result = CHECK_LABEL[check.result] ?? 'unknown';
  const p = check.pValue !== undefined ? `, p = ${check.pValue.toPrecision(2)}` : '';
  return `${check.name.replace(/_/g, ' ')}: ${result} (canary ${formatLoss(check.canaryValue)} vs stable ${formatLoss(check.stableValue)}, limit ${formatLoss(check.threshold)}${p}; ${check.canarySamples}/${check.stableSamples} samples)${check.detail ? ` — ${check.detail}` : ''}`;
}

/**
 * How a decision moved the canary's share. ReleaseService records a promoted or rolled-back
 * rollout with a canary weight of 0 (there is no canary any more), which read as if the
 * promoted version lost its calls; the words say what happened to the version instead.
 */
export function weightChangeText(decision: Pick<Decision, 'action' | 'weightBefore' | 'weightAfter'>): string {
  const { weightBefore: before, weightAfter: after } = decision;
  switch (decision.action) {
    case DecisionAction.DECISION_ACTION_PROMOTE:
      return `weight ${before}% → 100%, now the stable version`;
    case DecisionAction.DECISION_ACTION_ROLLBACK:
      return `weight ${before}% → 0%, no longer served`;
    case DecisionAction.DECISION_ACTION_HOLD:
      return `weight stays ${before}%`;
    default:
      return `weight ${before}% → ${after}%`;
  }
}

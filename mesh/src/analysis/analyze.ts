/**
 * One analysis of one canary: the checks, and the decision they lead to. Pure: the numbers
 * come in (ratings from the FeedbackStore, calls from the StylizeEventStore, both over the
 * window since the last weight change), a verdict goes out; analysis-loop.ts gathers and acts.
 *
 * - approval: one-sided Fisher exact test (see fisher.ts) that the canary is rated worse;
 *   needs `minRatings` on both arms, else INSUFFICIENT_DATA. Fails when p < alpha.
 * - error_rate: calls failed by a server-fault gRPC status (never HTTP status: gRPC errors
 *   travel as HTTP 200). Fails when the canary's rate exceeds stable's by more than `errorMargin`
 *   (relative to stable, since shared trouble such as a full disk hits both arms).
 * - p95_latency: fails when the canary's p95 exceeds `latencyRatio` times stable's.
 *
 * Any failure rolls back at once, whatever else lacks data. Otherwise missing data, or less
 * than `minStepSeconds` at this weight, holds; all passing steps up to the next ladder weight,
 * and past the last weight below 100 the canary is promoted (100 on the ladder means promotion).
 */
import type { CheckRecord, DecisionActionName } from '../rollout/schema';
import { fisherExactLess } from './fisher';

export interface AnalysisSettings {
  /** Weights to step through, ascending, ending at 100. */
  ladder: readonly number[];
  /** Ratings each arm needs before approval is judged. */
  minRatings: number;
  /** Calls each arm needs before errors and latency are judged. */
  minCalls: number;
  /** Significance level of the approval test. */
  alpha: number;
  /** How far above stable's error rate the canary's may be (absolute, 0.02 = 2 points). */
  errorMargin: number;
  /** Canary p95 may be at most this many times stable's. */
  latencyRatio: number;
  /** Least time at one weight before stepping up, in seconds. */
  minStepSeconds: number;
}

export interface ArmFigures {
  good: number;
  bad: number;
  requests: number;
  errors: number;
  p95LatencyMs: number;
}

export interface AnalysisInput {
  weight: number;
  /** Seconds since the weight last changed. */
  secondsAtWeight: number;
  stable: ArmFigures;
  canary: ArmFigures;
}

export interface AnalysisVerdict {
  action: Extract<DecisionActionName, 'hold' | 'step_up' | 'promote' | 'rollback'>;
  weightAfter: number;
  reason: string;
  checks: CheckRecord[];
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
const rate = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);

export function approvalCheck(settings: AnalysisSettings, stable: ArmFigures, canary: ArmFigures): CheckRecord {
  const stableSamples = stable.good + stable.bad;
  const canarySamples = canary.good + canary.bad;
  const base = {
    name: 'approval',
    stableValue: rate(stable.good, stableSamples),
    canaryValue: rate(canary.good, canarySamples),
    threshold: settings.alpha,
    stableSamples,
    canarySamples,
  };
  if (stableSamples < settings.minRatings || canarySamples < settings.minRatings) {
    return {
      ...base,
      result: 'insufficient_data',
      detail: `needs ${settings.minRatings} ratings per version; stable has ${stableSamples}, canary ${canarySamples}`,
    };
  }
  const pValue = fisherExactLess(canary, stable);
  const worse = pValue < settings.alpha;
  return {
    ...base,
    result: worse ? 'fail' : 'pass',
    pValue,
    detail:
      `canary approval ${percent(base.canaryValue)} vs stable ${percent(base.stableValue)}; one-sided Fisher exact p = ${pValue.toPrecision(3)} ` +
      (worse ? `< ${settings.alpha}: rated worse` : `>= ${settings.alpha}: not shown worse`),
  };
}

export function errorRateCheck(settings: AnalysisSettings, stable: ArmFigures, canary: ArmFigures): CheckRecord {
  const stableValue = rate(stable.errors, stable.requests);
  const canaryValue = rate(canary.errors, canary.requests);
  const threshold = stableValue + settings.errorMargin;
  const base = { name: 'error_rate', stableValue, canaryValue, threshold, stableSamples: stable.requests, canarySamples: canary.requests };
  if (canary.requests < settings.minCalls) {
    return { ...base, result: 'insufficient_data', detail: `needs ${settings.minCalls} canary calls; it has ${canary.requests}` };
  }
  const fails = canaryValue > threshold;
  return {
    ...base,
    result: fails ? 'fail' : 'pass',
    detail: `canary ${canary.errors}/${canary.requests} server-fault statuses (${percent(canaryValue)}), stable ${stable.errors}/${stable.requests} (${percent(stableValue)}); limit ${percent(threshold)}`,
  };
}

/**
 * Calls each arm needs before its p95 means anything: below 20 the nearest-rank p95 is the
 * single slowest call, and a canary's first call also loads its model (measured here: 0.6 s
 * against 60 ms warm), which alone would roll back every new version.
 */
export const MIN_CALLS_FOR_P95 = 20;

export function latencyCheck(settings: AnalysisSettings, stable: ArmFigures, canary: ArmFigures): CheckRecord {
  const minCalls = Math.max(settings.minCalls, MIN_CALLS_FOR_P95);
  const threshold = stable.p95LatencyMs * settings.latencyRatio;
  const base = {
    name: 'p95_latency',
    stableValue: stable.p95LatencyMs,
    canaryValue: canary.p95LatencyMs,
    threshold,
    stableSamples: stable.requests,
    canarySamples: canary.requests,
  };
  if (stable.requests < minCalls || canary.requests < minCalls) {
    return {
      ...base,
      result: 'insufficient_data',
      detail: `needs ${minCalls} calls per version; stable has ${stable.requests}, canary ${canary.requests}`,
    };
  }
  const fails = canary.p95LatencyMs > threshold;
  return {
    ...base,
    result: fails ? 'fail' : 'pass',
    detail: `canary p95 ${canary.p95LatencyMs.toFixed(0)} ms vs stable ${stable.p95LatencyMs.toFixed(0)} ms; limit ${threshold.toFixed(0)} ms (${settings.latencyRatio}x)`,
  };
}

/** The next weight after `weight` on the ladder, or undefined when the next step is promotion. */
export function nextLadderWeight(ladder: readonly number[], weight: number): number | undefined {
  const next = ladder.find((step) => step > weight);
  return next === undefined || next >= 100 ? undefined : next;
}

export function analyze(settings: AnalysisSettings, input: AnalysisInput): AnalysisVerdict {
  const { stable, canary, weight } = input;
  const checks = [approvalCheck(settings, stable, canary), errorRateCheck(settings, stable, canary), latencyCheck(settings, stable, canary)];
  const failed = checks.filter((check) => check.result === 'fail');
  if (failed.length > 0) {
    return {
      action: 'rollback',
      weightAfter: 0,
      reason: `rolled back: ${failed.map((check) => `${check.name} failed (${check.detail})`).join('; ')}`,
      checks,
    };
  }
  const lacking = checks.filter((check) => check.result === 'insufficient_data');
  if (lacking.length > 0) {
    return {
      action: 'hold',
      weightAfter: weight,
      reason: `insufficient data: ${lacking.map((check) => `${check.name} ${check.detail}`).join('; ')}`,
      checks,
    };
  }
  if (input.secondsAtWeight < settings.minStepSeconds) {
    return {
      action: 'hold',
      weightAfter: weight,
      reason: `checks pass; holding ${weight}% until it has run ${settings.minStepSeconds} s (${Math.floor(input.secondsAtWeight)} s so far)`,
      checks,
    };
  }
  const next = nextLadderWeight(settings.ladder, weight);
  if (next === undefined) {
    return { action: 'promote', weightAfter: 100, reason: `checks pass at ${weight}%, the last step: promoted`, checks };
  }
  return { action: 'step_up', weightAfter: next, reason: `checks pass at ${weight}%: stepped up to ${next}%`, checks };
}

/** Rollout and decision records as the nst.v1 wire messages. */
import {
  CheckResult,
  DecisionAction,
  RolloutPhase,
  type Check,
  type Decision,
  type Rollout,
  type VersionStats,
} from '@nst/proto';
import type { ArmFigures } from '../analysis/analyze';
import type { CheckRecord, DecisionRecord, RolloutRecord } from '../rollout/schema';

const PHASES: Record<RolloutRecord['phase'], RolloutPhase> = {
  stable: RolloutPhase.ROLLOUT_PHASE_STABLE,
  canary: RolloutPhase.ROLLOUT_PHASE_CANARY,
  promoted: RolloutPhase.ROLLOUT_PHASE_PROMOTED,
  rolled_back: RolloutPhase.ROLLOUT_PHASE_ROLLED_BACK,
};

const ACTIONS: Record<DecisionRecord['action'], DecisionAction> = {
  start: DecisionAction.DECISION_ACTION_START,
  hold: DecisionAction.DECISION_ACTION_HOLD,
  step_up: DecisionAction.DECISION_ACTION_STEP_UP,
  promote: DecisionAction.DECISION_ACTION_PROMOTE,
  rollback: DecisionAction.DECISION_ACTION_ROLLBACK,
  set_weight: DecisionAction.DECISION_ACTION_SET_WEIGHT,
};

const RESULTS: Record<CheckRecord['result'], CheckResult> = {
  pass: CheckResult.CHECK_RESULT_PASS,
  fail: CheckResult.CHECK_RESULT_FAIL,
  insufficient_data: CheckResult.CHECK_RESULT_INSUFFICIENT_DATA,
};

export function toCheck(check: CheckRecord): Check {
  return {
    name: check.name,
    result: RESULTS[check.result],
    stableValue: check.stableValue,
    canaryValue: check.canaryValue,
    threshold: check.threshold,
    ...(check.pValue !== undefined ? { pValue: check.pValue } : {}),
    stableSamples: check.stableSamples,
    canarySamples: check.canarySamples,
    detail: check.detail,
  };
}

export function toDecision(decision: DecisionRecord): Decision {
  return {
    id: decision.id,
    style: decision.style,
    rolloutId: decision.rolloutId,
    action: ACTIONS[decision.action],
    stableVersion: decision.stableVersion,
    canaryVersion: decision.canaryVersion,
    weightBefore: decision.weightBefore,
    weightAfter: decision.weightAfter,
    reason: decision.reason,
    checks: decision.checks.map(toCheck),
    actor: decision.actor,
    decidedAt: new Date(decision.decidedAt),
    traceId: decision.traceId,
  };
}

export function toVersionStats(version: string, figures: ArmFigures): VersionStats {
  const ratings = figures.good + figures.bad;
  return {
    version,
    requests: figures.requests,
    errors: figures.errors,
    goodRatings: figures.good,
    badRatings: figures.bad,
    approvalRate: ratings === 0 ? 0 : figures.good / ratings,
    errorRate: figures.requests === 0 ? 0 : figures.errors / figures.requests,
    p95LatencyMs: figures.p95LatencyMs,
  };
}

export interface RolloutExtras {
  stable?: ArmFigures | undefined;
  canary?: ArmFigures | undefined;
  lastDecision?: DecisionRecord | undefined;
  nextAnalysisAt?: Date | undefined;
}

export function toRollout(record: RolloutRecord, extras: RolloutExtras = {}): Rollout {
  return {
    style: record.style,
    rolloutId: record.rolloutId,
    phase: PHASES[record.phase],
    stableVersion: record.stableVersion,
    ...(record.canaryVersion !== undefined ? { canaryVersion: record.canaryVersion } : {}),
    canaryWeight: record.canaryWeight,
    ladder: [...record.ladder],
    ...(record.startedAt ? { startedAt: new Date(record.startedAt) } : {}),
    updatedAt: new Date(record.updatedAt),
    ...(extras.stable ? { stableStats: toVersionStats(record.stableVersion, extras.stable) } : {}),
    ...(extras.canary && record.canaryVersion !== undefined ? { canaryStats: toVersionStats(record.canaryVersion, extras.canary) } : {}),
    ...(extras.lastDecision ? { lastDecision: toDecision(extras.lastDecision) } : {}),
    ...(record.phase === 'canary' && extras.nextAnalysisAt ? { nextAnalysisAt: extras.nextAnalysisAt } : {}),
  };
}

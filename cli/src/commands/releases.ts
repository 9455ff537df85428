/**
 * `nst releases`: rollouts per style (stable and canary versions, weight, live figures),
 * canary actions (start, weight, promote, rollback; they need the admin token) and the
 * analysis history, from ReleaseService.
 */
import { CheckResult, DecisionAction, RolloutPhase, type Decision, type Rollout, type VersionStats } from '@nst/proto';
import type { CliContext } from '../context';
import { formatMs, table } from '../format';
import { adminMetadata, CliError, unary } from '../grpc';

const PHASES: Record<number, string> = {
  [RolloutPhase.ROLLOUT_PHASE_STABLE]: 'stable',
  [RolloutPhase.ROLLOUT_PHASE_CANARY]: 'canary',
  [RolloutPhase.ROLLOUT_PHASE_PROMOTED]: 'promoted',
  [RolloutPhase.ROLLOUT_PHASE_ROLLED_BACK]: 'rolled back',
};
const ACTIONS: Record<number, string> = {
  [DecisionAction.DECISION_ACTION_START]: 'start',
  [DecisionAction.DECISION_ACTION_HOLD]: 'hold',
  [DecisionAction.DECISION_ACTION_STEP_UP]: 'step up',
  [DecisionAction.DECISION_ACTION_PROMOTE]: 'promote',
  [DecisionAction.DECISION_ACTION_ROLLBACK]: 'rollback',
  [DecisionAction.DECISION_ACTION_SET_WEIGHT]: 'set weight',
};
const RESULTS: Record<number, string> = {
  [CheckResult.CHECK_RESULT_PASS]: 'pass',
  [CheckResult.CHECK_RESULT_FAIL]: 'FAIL',
  [CheckResult.CHECK_RESULT_INSUFFICIENT_DATA]: 'not enough data',
};

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

function split(rollout: Rollout): string {
  return rollout.canaryVersion !== undefined ? `${100 - rollout.canaryWeight}% / ${rollout.canaryWeight}%` : '100%';
}

function statsLine(label: string, stats: VersionStats | undefined): string {
  if (!stats) return `  ${label}: -`;
  const ratings = stats.goodRatings + stats.badRatings;
  return (
    `  ${label} version ${stats.version}: ${stats.requests} calls, ${stats.errors} errors (${percent(stats.errorRate)}), ` +
    `p95 ${formatMs(stats.p95LatencyMs)}, ${ratings} ratings (${ratings > 0 ? percent(stats.approvalRate) : '-'} good)`
  );
}

function decisionLines(decision: Decision): string[] {
  const when = decision.decidedAt ? decision.decidedAt.toISOString().replace('T', ' ').slice(0, 19) : '-';
  const lines = [
    `${when}  ${decision.style}  ${ACTIONS[decision.action] ?? 'unknown'}  ${decision.weightBefore}% -> ${decision.weightAfter}%  ` +
      `(stable ${decision.stableVersion}${decision.canaryVersion ? `, canary ${decision.canaryVersion}` : ''}; ${decision.actor})`,
    `  ${decision.reason}`,
  ];
  for (const check of decision.checks) {
    lines.push(`  - ${check.name}: ${RESULTS[check.result] ?? 'unknown'}; ${check.detail}`);
  }
  return lines;
}

export async function listRollouts(ctx: CliContext): Promise<void> {
  const { rollouts } = await unary(ctx.release, ctx.release.client.listRollouts, {});
  if (rollouts.length === 0) {
    ctx.print('No rollouts yet: ReleaseService creates one per registered style.');
    return;
  }
  ctx.print(
    table(
      ['style', 'phase', 'stable', 'canary', 'split', 'last decision'],
      rollouts.map((r) => [
        r.style,
        PHASES[r.phase] ?? 'unknown',
        r.stableVersion,
        r.canaryVersion ?? '-',
        split(r),
        r.lastDecision ? `${ACTIONS[r.lastDecision.action] ?? ''}: ${r.lastDecision.reason}` : '-',
      ]),
    ),
  );
}

function printRollout(ctx: CliContext, rollout: Rollout | undefined): void {
  if (!rollout) throw new CliError('ReleaseService answered without a rollout');
  ctx.print(
    `${rollout.style}: ${PHASES[rollout.phase] ?? 'unknown'}, stable version ${rollout.stableVersion}` +
      (rollout.canaryVersion !== undefined ? `, canary version ${rollout.canaryVersion} at ${rollout.canaryWeight}%` : '') +
      ` (ladder ${rollout.ladder.join(', ')})`,
  );
  ctx.print(statsLine('stable', rollout.stableStats));
  if (rollout.canaryVersion !== undefined) ctx.print(statsLine('canary', rollout.canaryStats));
  if (rollout.nextAnalysisAt) ctx.print(`  next analysis at ${rollout.nextAnalysisAt.toISOString()}`);
  if (rollout.lastDecision) for (const line of decisionLines(rollout.lastDecision)) ctx.print(`  ${line}`);
}

export async function getRollout(ctx: CliContext, style: string): Promise<void> {
  printRollout(ctx, (await unary(ctx.release, ctx.release.client.getRollout, { style })).rollout);
}

export async function startCanary(ctx: CliContext, style: string, version: string, weight: number | undefined): Promise<void> {
  const { rollout } = await unary(
    ctx.release,
    ctx.release.client.startCanary,
    { style, version, initialWeight: weight ?? 0 },
    adminMetadata(ctx.token),
  );
  printRollout(ctx, rollout);
}

export async function setWeight(ctx: CliContext, style: string, weight: number): Promise<void> {
  printRollout(ctx, (await unary(ctx.release, ctx.release.client.setWeight, { style, weight }, adminMetadata(ctx.token))).rollout);
}

export async function promote(ctx: CliContext, style: string, reason: string | undefined): Promise<void> {
  printRollout(ctx, (await unary(ctx.release, ctx.release.client.promote, { style, reason: reason ?? '' }, adminMetadata(ctx.token))).rollout);
}

export async function rollback(ctx: CliContext, style: string, reason: string | undefined): Promise<void> {
  printRollout(ctx, (await unary(ctx.release, ctx.release.client.rollback, { style, reason: reason ?? '' }, adminMetadata(ctx.token))).rollout);
}

export async function listDecisions(ctx: CliContext, style: string | undefined, limit: number | undefined): Promise<void> {
  const { decisions } = await unary(ctx.release, ctx.release.client.listDecisions, { style: style ?? '', limit: limit ?? 20 });
  if (decisions.length === 0) {
    ctx.print(style ? `No release decisions for ${style} yet.` : 'No release decisions yet.');
    return;
  }
  for (const decision of decisions) for (const line of decisionLines(decision)) ctx.print(line);
}

/**
 * The durable release state: one rollout record per style (rollouts.json) and the append-only
 * history of decisions (decisions.jsonl), both in NST_RELEASES_DIR. ReleaseService writes them;
 * StyleService's router and the Istio rendering read the same records.
 */
import { StyleIdSchema, VERSION_PATTERN } from '@nst/runtime';
import { z } from 'zod';

const VersionSchema = z.string().regex(VERSION_PATTERN, 'versions are whole numbers from 1, in decimal');
const WeightSchema = z.number().int().min(0).max(100);

export const ROLLOUT_PHASES = ['stable', 'canary', 'promoted', 'rolled_back'] as const;
export type RolloutPhaseName = (typeof ROLLOUT_PHASES)[number];

export const RolloutRecordSchema = z
  .object({
    style: StyleIdSchema,
    /** Changes whenever a canary starts. */
    rolloutId: z.string().min(1).max(100),
    phase: z.enum(ROLLOUT_PHASES),
    /** Serves every call not routed to the canary. */
    stableVersion: VersionSchema,
    /** Present exactly while phase is 'canary'. */
    canaryVersion: VersionSchema.optional(),
    /** Percent of unpinned calls for the canary. */
    canaryWeight: WeightSchema,
    /** The weights the analysis steps through; the last is 100 (promotion). */
    ladder: z.array(WeightSchema.min(1)).min(1),
    /** When the current (or last) canary started. */
    startedAt: z.iso.datetime().optional(),
    /** When the record last changed. */
    updatedAt: z.iso.datetime(),
    /** When the canary weight last changed: the analysis window starts here. */
    weightChangedAt: z.iso.datetime(),
    /** The id of the most recent decision about this style. */
    lastDecisionId: z.string().optional(),
  })
  .refine((r) => (r.phase === 'canary') === (r.canaryVersion !== undefined), {
    message: 'a canary version is present exactly while the phase is canary',
  })
  .refine((r) => r.canaryVersion === undefined || r.canaryVersion !== r.stableVersion, {
    message: 'the canary version must differ from the stable version',
  });
export type RolloutRecord = z.infer<typeof RolloutRecordSchema>;

export const RolloutStateSchema = z.object({
  /** Format of this file, for later migrations. */
  format: z.literal(1),
  /** Style id -> its rollout. */
  rollouts: z.record(z.string(), RolloutRecordSchema),
});
export type RolloutState = z.infer<typeof RolloutStateSchema>;

export const emptyRolloutState = (): RolloutState => ({ format: 1, rollouts: {} });

/**
 * A style's rollout, looked up as an own property only: `rollouts` is a plain object, and a
 * style named after an Object.prototype member ("constructor") must not find that member.
 */
export function rolloutOf(state: RolloutState, style: string): RolloutRecord | undefined {
  return Object.hasOwn(state.rollouts, style) ? state.rollouts[style] : undefined;
}

export const DECISION_ACTIONS = ['start', 'hold', 'step_up', 'promote', 'rollback', 'set_weight'] as const;
export type DecisionActionName = (typeof DECISION_ACTIONS)[number];
export const CHECK_RESULTS = ['pass', 'fail', 'insufficient_data'] as const;
export type CheckResultName = (typeof CHECK_RESULTS)[number];

export const CheckRecordSchema = z.object({
  /** 'approval', 'error_rate' or 'p95_latency'. */
  name: z.string(),
  result: z.enum(CHECK_RESULTS),
  stableValue: z.number(),
  canaryValue: z.number(),
  threshold: z.number(),
  pValue: z.number().optional(),
  stableSamples: z.number().int().nonnegative(),
  canarySamples: z.number().int().nonnegative(),
  detail: z.string(),
});
export type CheckRecord = z.infer<typeof CheckRecordSchema>;

export const DecisionRecordSchema = z.object({
  id: z.string().min(1),
  style: StyleIdSchema,
  rolloutId: z.string(),
  action: z.enum(DECISION_ACTIONS),
  stableVersion: VersionSchema,
  /** The canary version it was about ('' when there was none). */
  canaryVersion: z.string(),
  weightBefore: WeightSchema,
  weightAfter: WeightSchema,
  reason: z.string(),
  checks: z.array(CheckRecordSchema),
  /** 'analysis', 'auto-release' or 'admin'. */
  actor: z.string(),
  decidedAt: z.iso.datetime(),
  /** The trace the decision was taken in, when tracing is on ('' otherwise). */
  traceId: z.string(),
});
export type DecisionRecord = z.infer<typeof DecisionRecordSchema>;

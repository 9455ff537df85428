/**
 * The one writer of the release state. Every change (a canary started, a weight set, a
 * promotion, a rollback, an analysis verdict) runs here, one at a time, as: check the request
 * against the current state -> append the decision to decisions.jsonl (fsync'd) -> replace
 * rollouts.json atomically -> notify (cluster mode applies the Istio routing). The decision is
 * durable before the change it explains, so the history never misses a change.
 */
import { randomUUID } from 'node:crypto';
import { KeyedSerializer, recordRolloutWeights, type Logger } from '@nst/runtime';
import type { DecisionLog } from './decision-log';
import type { RolloutStore } from './rollout-store';
import { rolloutOf, type CheckRecord, type DecisionActionName, type DecisionRecord, type RolloutRecord, type RolloutState } from './schema';

export type ReleaseErrorKind = 'not_found' | 'failed_precondition' | 'invalid_argument';

/** A refused release request; the service maps `kind` to a gRPC status. */
export class ReleaseError extends Error {
  constructor(
    readonly kind: ReleaseErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ReleaseError';
  }
}

/** What the controller needs of the model registry: the styles and their intact versions. */
export interface VersionSource {
  /** Style ids with their intact version numbers, ascending. */
  listStyles(): Promise<{ id: string; versions: number[] }[]>;
}

export interface ReleaseControllerOptions {
  store: RolloutStore;
  decisions: DecisionLog;
  registry: VersionSource;
  /** The canary ladder (NST_CANARY_LADDER). */
  ladder: readonly number[];
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Called after each state change with the whole new state (cluster mode applies it). */
  onChange?: (state: RolloutState) => Promise<void>;
  now?: () => Date;
}

export interface ChangeContext {
  /** 'analysis', 'auto-release' or 'admin'. */
  actor: string;
  reason?: string;
  /** The trace the change was made in ('' without tracing). */
  traceId?: string;
}

export class ReleaseController {
  private readonly serial = new KeyedSerializer();
  private readonly now: () => Date;

  constructor(private readonly options: ReleaseControllerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Gives every style without a rollout one whose stable version is its latest. */
  async init(): Promise<RolloutRecord[]> {
    const created = await this.mutate(async (state) => {
      const created: RolloutRecord[] = [];
      for (const style of await this.options.registry.listStyles()) {
        const latest = style.versions.at(-1);
        if (rolloutOf(state, style.id) || latest === undefined) continue;
        state.rollouts[style.id] = this.stableRecord(style.id, String(latest));
        created.push(state.rollouts[style.id] as RolloutRecord);
      }
      if (created.length > 0) this.options.logger.info({ styles: created.map((r) => `${r.style}@${r.stableVersion}`) }, 'rollouts created for styles that had none');
      return created;
    });
    // A restart with unchanged state still tells Prometheus the split in force.
    recordStateWeights(await this.options.store.read());
    return created;
  }

  /** Every rollout, ordered by style. */
  async list(): Promise<RolloutRecord[]> {
    const state = await this.options.store.read();
    return Object.values(state.rollouts).sort((a, b) => (a.style < b.style ? -1 : a.style > b.style ? 1 : 0));
  }

  /** One style's rollout; NOT_FOUND for a style the registry does not know. */
  async get(style: string): Promise<RolloutRecord> {
    const record = rolloutOf(await this.options.store.read(), style);
    if (record) return record;
    const versions = await this.versionsOf(style);
    return this.stableRecord(style, String(versions.at(-1)));
  }

  async startCanary(style: string, version: string, weight: number, context: ChangeContext): Promise<RolloutRecord> {
    if (weight > 100) throw new ReleaseError('invalid_argument', `initial weight ${weight} is over 100; use 1 to 100, or 0 for the ladder's first step`);
    const versions = await this.versionsOf(style);
    if (!versions.includes(Number(version)) || String(Number(version)) !== version) {
      throw new ReleaseError('not_found', `style '${style}' has no version '${version}'; its versions are: ${versions.join(', ')}`);
    }
    return this.mutate(async (state) => {
      const current = rolloutOf(state, style) ?? this.stableRecord(style, String(versions.at(-1)));
      if (current.phase === 'canary') {
        throw new ReleaseError(
          'failed_precondition',
          `style '${style}' already has canary version ${current.canaryVersion} at ${current.canaryWeight}%; promote it or roll it back first`,
        );
      }
      if (current.stableVersion === version) {
        throw new ReleaseError('failed_precondition', `version ${version} is already the stable version of '${style}'; start a canary of another version`);
      }
      const at = this.now().toISOString();
      const initial = weight === 0 ? (this.options.ladder[0] as number) : weight;
      const next: RolloutRecord = {
        ...current,
        rolloutId: randomUUID(),
        phase: 'canary',
        canaryVersion: version,
        canaryWeight: initial,
        ladder: [...this.options.ladder],
        startedAt: at,
        updatedAt: at,
        weightChangedAt: at,
      };
      const decision = this.decision(current, next, 'start', context, [], `canary of version ${version} started at ${initial}%`);
      return this.commit(state, next, decision);
    });
  }

  async setWeight(style: string, weight: number, context: ChangeContext): Promise<RolloutRecord> {
    if (weight > 100) throw new ReleaseError('invalid_argument', `weight ${weight} is over 100; use 0 to 100`);
    await this.versionsOf(style);
    return this.mutate(async (state) => {
      const current = this.requireCanary(state, style, 'set its weight');
      const at = this.now().toISOString();
      const next: RolloutRecord = { ...current, canaryWeight: weight, updatedAt: at, weightChangedAt: at };
      const decision = this.decision(current, next, 'set_weight', context, [], `canary weight set by hand from ${current.canaryWeight}% to ${weight}%`);
      return this.commit(state, next, decision);
    });
  }

  async promote(style: string, context: ChangeContext, checks: CheckRecord[] = []): Promise<RolloutRecord> {
    await this.versionsOf(style);
    return this.mutate(async (state) => this.promoteIn(state, this.requireCanary(state, style, 'promote'), context, checks));
  }

  async rollback(style: string, context: ChangeContext, checks: CheckRecord[] = []): Promise<RolloutRecord> {
    await this.versionsOf(style);
    return this.mutate(async (state) => this.rollbackIn(state, this.requireCanary(state, style, 'roll back'), context, checks));
  }

  /**
   * Applies an analysis verdict taken on `seen`, unless the rollout changed meanwhile (a
   * person set the weight, a newer canary started): then the verdict is stale and dropped.
   */
  async applyVerdict(
    seen: RolloutRecord,
    verdict: { action: Extract<DecisionActionName, 'hold' | 'step_up' | 'promote' | 'rollback'>; weightAfter: number; reason: string; checks: CheckRecord[] },
    traceId: string,
  ): Promise<DecisionRecord | undefined> {
    return this.mutate(async (state) => {
      const current = rolloutOf(state, seen.style);
      if (!current || current.rolloutId !== seen.rolloutId || current.phase !== 'canary' || current.weightChangedAt !== seen.weightChangedAt) {
        return undefined;
      }
      const context = { actor: 'analysis', reason: verdict.reason, traceId };
      if (verdict.action === 'rollback') {
        await this.rollbackIn(state, current, context, verdict.checks);
      } else if (verdict.action === 'promote') {
        await this.promoteIn(state, current, context, verdict.checks);
      } else if (verdict.action === 'step_up') {
        const at = this.now().toISOString();
        const next: RolloutRecord = { ...current, canaryWeight: verdict.weightAfter, updatedAt: at, weightChangedAt: at };
        await this.commit(state, next, this.decision(current, next, 'step_up', context, verdict.checks, verdict.reason));
      } else {
        // A hold changes nothing but is recorded with its numbers.
        const decision = this.decision(current, current, 'hold', context, verdict.checks, verdict.reason);
        await this.options.decisions.append(decision);
        state.rollouts[current.style] = { ...current, lastDecisionId: decision.id };
        this.log(decision);
        return decision;
      }
      return this.options.decisions.find((state.rollouts[current.style] as RolloutRecord).lastDecisionId ?? '');
    });
  }

  /**
   * A version was registered (by the trainer, a fine-tune included): with auto-release it
   * becomes the canary at the ladder's first step; a canary already running for the style is
   * rolled back first, with that as the reason. A style's first version becomes its stable one
   * either way (so a later version is not served before it is released); without auto-release
   * nothing else happens. Versions older than the stable or the running canary are ignored.
   */
  async onVersionRegistered(style: string, version: number, autoRelease = true): Promise<RolloutRecord | undefined> {
    const state = await this.options.store.read();
    const current = rolloutOf(state, style);
    if (!current) {
      return this.mutate(async (fresh) => {
        if (!rolloutOf(fresh, style)) fresh.rollouts[style] = this.stableRecord(style, String(version));
        return fresh.rollouts[style];
      });
    }
    if (!autoRelease) return undefined;
    if (version <= Number(current.stableVersion) || version <= Number(current.canaryVersion ?? 0)) return undefined;
    if (current.phase === 'canary') {
      await this.rollback(style, {
        actor: 'auto-release',
        reason: `rolled back: version ${version} was registered and replaces canary ${current.canaryVersion}`,
      });
    }
    return this.startCanary(style, String(version), 0, { actor: 'auto-release', reason: `version ${version} was registered` });
  }

  // ---- internals ----

  private async promoteIn(state: RolloutState, current: RolloutRecord, context: ChangeContext, checks: CheckRecord[]): Promise<RolloutRecord> {
    const at = this.now().toISOString();
    const { canaryVersion, ...rest } = current;
    const next: RolloutRecord = { ...rest, phase: 'promoted', stableVersion: canaryVersion as string, canaryWeight: 0, updatedAt: at, weightChangedAt: at };
    const decision = this.decision(current, next, 'promote', context, checks, `canary version ${canaryVersion} promoted to stable`);
    return this.commit(state, next, decision);
  }

  private async rollbackIn(state: RolloutState, current: RolloutRecord, context: ChangeContext, checks: CheckRecord[]): Promise<RolloutRecord> {
    const at = this.now().toISOString();
    const { canaryVersion: _dropped, ...rest } = current;
    const next: RolloutRecord = { ...rest, phase: 'rolled_back', canaryWeight: 0, updatedAt: at, weightChangedAt: at };
    const decision = this.decision(current, next, 'rollback', context, checks, `canary version ${current.canaryVersion} rolled back`);
    return this.commit(state, next, decision);
  }

  private requireCanary(state: RolloutState, style: string, what: string): RolloutRecord {
    const current = rolloutOf(state, style);
    if (!current || current.phase !== 'canary') {
      throw new ReleaseError('failed_precondition', `style '${style}' has no canary in progress to ${what}; start a canary of one of its versions first`);
    }
    return current;
  }

  private async versionsOf(style: string): Promise<number[]> {
    const styles = await this.options.registry.listStyles();
    const found = styles.find((s) => s.id === style);
    if (!found || found.versions.length === 0) {
      const known = styles.filter((s) => s.versions.length > 0).map((s) => s.id);
      throw new ReleaseError('not_found', `style '${style}' does not exist; known styles: ${known.length > 0 ? known.join(', ') : '(none registered)'}`);
    }
    return found.versions;
  }

  private stableRecord(style: string, version: string): RolloutRecord {
    const at = this.now().toISOString();
    return {
      style,
      rolloutId: randomUUID(),
      phase: 'stable',
      stableVersion: version,
      canaryWeight: 0,
      ladder: [...this.options.ladder],
      updatedAt: at,
      weightChangedAt: at,
    };
  }

  private decision(
    before: RolloutRecord,
    after: RolloutRecord,
    action: DecisionActionName,
    context: ChangeContext,
    checks: CheckRecord[],
    fallbackReason: string,
  ): DecisionRecord {
    return {
      id: randomUUID(),
      style: before.style,
      rolloutId: before.rolloutId === after.rolloutId ? before.rolloutId : after.rolloutId,
      action,
      stableVersion: before.stableVersion,
      canaryVersion: after.canaryVersion ?? before.canaryVersion ?? '',
      weightBefore: before.phase === 'canary' ? before.canaryWeight : 0,
      weightAfter: after.canaryWeight,
      reason: context.actor === 'admin' && context.reason ? `${fallbackReason}: ${context.reason}` : (context.reason ?? fallbackReason),
      checks,
      actor: context.actor,
      decidedAt: this.now().toISOString(),
      traceId: context.traceId ?? '',
    };
  }

  /** Records the decision, then puts `next` into the state (written by `mutate`). */
  private async commit(state: RolloutState, next: RolloutRecord, decision: DecisionRecord): Promise<RolloutRecord> {
    await this.options.decisions.append(decision);
    const record = { ...next, lastDecisionId: decision.id };
    state.rollouts[next.style] = record;
    this.log(decision);
    return record;
  }

  private log(decision: DecisionRecord): void {
    this.options.logger.info(
      {
        decision: {
          id: decision.id,
          style: decision.style,
          action: decision.action,
          stable: decision.stableVersion,
          canary: decision.canaryVersion,
          weightBefore: decision.weightBefore,
          weightAfter: decision.weightAfter,
          actor: decision.actor,
          checks: decision.checks.map((c) => ({ name: c.name, result: c.result, stable: c.stableValue, canary: c.canaryValue, threshold: c.threshold, p: c.pValue })),
        },
        ...(decision.traceId ? { 'trace.id': decision.traceId } : {}),
      },
      `release ${decision.action} ${decision.style}: ${decision.reason}`,
    );
  }

  /**
   * Runs `change` alone against a fresh copy of the state, which it edits in place; when the
   * copy changed, writes it and notifies.
   */
  private mutate<T>(change: (state: RolloutState) => Promise<T>): Promise<T> {
    return this.serial.run('state', async () => {
      const state = structuredClone(await this.options.store.read());
      const before = JSON.stringify(state);
      const result = await change(state);
      if (JSON.stringify(state) !== before) {
        await this.options.store.write(state);
        recordStateWeights(state);
        if (this.options.onChange) {
          await this.options.onChange(state).catch((error: unknown) =>
            this.options.logger.error({ err: error }, 'release state changed here but could not be applied to the cluster; it is retried on the next change'),
          );
        }
      }
      return result;
    });
  }
}

/**
 * Sets the nst_rollout_weight gauge from the whole state, after every change whoever made it
 * (operator, analysis, auto-release) and at start, so Prometheus sees the split the router uses.
 */
export function recordStateWeights(state: RolloutState): void {
  for (const record of Object.values(state.rollouts)) {
    const canary = record.phase === 'canary' ? record.canaryVersion : undefined;
    recordRolloutWeights(record.style, record.stableVersion, canary, canary === undefined ? 0 : record.canaryWeight);
  }
}

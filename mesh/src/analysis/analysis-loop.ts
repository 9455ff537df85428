/**
 * The release analysis as it runs in the mesh process: every interval, for each style with a
 * canary, gather both arms' figures over the window since the last weight change (ratings from
 * the FeedbackStore, calls from the StylizeEventStore), judge them (analyze.ts) and hand the
 * verdict to the ReleaseController, which records and applies it.
 *
 * Only calls that started after the weight change are counted (the events' startedAt), since a
 * weight change moves new calls only; ratings count from the same moment.
 *
 * Tracing: each judgement runs in an OpenTelemetry span ('release.analysis') through
 * @opentelemetry/api, a no-op until the process registers an SDK (observability); the
 * decision records the span's trace id when there is one.
 */
import { SpanStatusCode, isSpanContextValid, trace } from '@opentelemetry/api';
import { platformMetrics, type FeedbackStore, type Logger, type StylizeEventStore } from '@nst/runtime';
import type { ReleaseController } from '../rollout/release-controller';
import type { DecisionRecord, RolloutRecord } from '../rollout/schema';
import { analyze, type AnalysisSettings, type ArmFigures } from './analyze';

export interface ReleaseAnalysisOptions {
  controller: ReleaseController;
  feedback: Pick<FeedbackStore, 'stats'>;
  events: Pick<StylizeEventStore, 'stats'>;
  settings: AnalysisSettings;
  /** Time between runs (NST_ANALYSIS_INTERVAL_SECONDS), in milliseconds. */
  intervalMs: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
}

export interface ArmsFigures {
  stable: ArmFigures;
  canary: ArmFigures | undefined;
}

const tracer = trace.getTracer('@nst/mesh');

export class ReleaseAnalysis {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private nextRunAt: Date | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: ReleaseAnalysisOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Runs every interval until stopped. */
  start(): void {
    const schedule = (): void => {
      this.nextRunAt = new Date(this.now().getTime() + this.options.intervalMs);
      this.timer = setTimeout(() => {
        this.running = this.runOnce()
          .catch((error: unknown) => this.options.logger.error({ err: error }, 'release analysis run failed; it runs again at the next interval'))
          .finally(() => {
            this.running = undefined;
            if (this.timer) schedule();
          });
      }, this.options.intervalMs);
    };
    schedule();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** When the next run is due (undefined when not started). */
  get nextAnalysisAt(): Date | undefined {
    return this.nextRunAt;
  }

  /** Judges every canary once; returns the decisions taken (stale verdicts are dropped). */
  async runOnce(): Promise<DecisionRecord[]> {
    const decisions: DecisionRecord[] = [];
    for (const rollout of await this.options.controller.list()) {
      if (rollout.phase !== 'canary') continue;
      try {
        const decision = await this.judge(rollout);
        if (decision) decisions.push(decision);
      } catch (error) {
        // One style's trouble (an unreadable store) must not stop the others being judged.
        this.options.logger.error({ err: error, style: rollout.style }, 'release analysis of a canary failed; it is judged again at the next interval');
      }
    }
    return decisions;
  }

  /** Both arms' figures over the rollout's current window. */
  async figures(rollout: RolloutRecord): Promise<ArmsFigures> {
    const since = new Date(rollout.weightChangedAt);
    const arm = async (version: string): Promise<ArmFigures> => {
      const [ratings, calls] = await Promise.all([
        this.options.feedback.stats({ style: rollout.style, version, since }),
        this.options.events.stats({ style: rollout.style, version, since }),
      ]);
      return { good: ratings.good, bad: ratings.bad, requests: calls.requests, errors: calls.errors, p95LatencyMs: calls.p95LatencyMs };
    };
    const [stable, canary] = await Promise.all([
      arm(rollout.stableVersion),
      rollout.canaryVersion === undefined ? Promise.resolve(undefined) : arm(rollout.canaryVersion),
    ]);
    return { stable, canary };
  }

  private judge(rollout: RolloutRecord): Promise<DecisionRecord | undefined> {
    return tracer.startActiveSpan(
      'release.analysis',
      { attributes: { 'nst.style': rollout.style, 'nst.rollout_id': rollout.rolloutId, 'nst.canary_weight': rollout.canaryWeight } },
      async (span) => {
        try {
          const { stable, canary } = await this.figures(rollout);
          const secondsAtWeight = (this.now().getTime() - Date.parse(rollout.weightChangedAt)) / 1000;
          const verdict = analyze(this.options.settings, {
            weight: rollout.canaryWeight,
            secondsAtWeight,
            stable,
            canary: canary as ArmFigures,
          });
          span.setAttribute('nst.decision', verdict.action);
          const context = span.spanContext();
          const decision = await this.options.controller.applyVerdict(rollout, verdict, isSpanContextValid(context) ? context.traceId : '');
          // Prometheus: the decision (NstCanaryRolledBack alerts on rollback); the controller sets
          // the weights it leaves, as it does for every change.
          platformMetrics().rolloutDecisions.inc({ style: rollout.style, decision: verdict.action });
          return decision;
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }
}

/**
 * The platform's service metrics, one set per process: gRPC calls served (every gRPC server,
 * through grpcMetricsInterceptor), inference time by style and version, the stylize queue,
 * feedback by style, version and rating, training job progress and outcomes, rollout weights
 * and decisions. A service process serves them at /metrics on its metrics port
 * (startMetricsServer); the names here are what observability/prometheus/ alerts on, and a test
 * holds the two together.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createCallMetrics, createMetricsRegistry, type CallMetrics } from './call-metrics';

export interface PlatformMetrics {
  registry: Registry;
  /** nst_grpc_server_*: gRPC calls served, by method ("nst.v1.StyleService/StylizeImage") and status code. */
  grpc: CallMetrics;
  /** Model run time of one stylize (all tiles), by style and version. */
  inferenceSeconds: Histogram<'style' | 'version'>;
  /** Stylize requests waiting for an inference slot. */
  queueDepth: Gauge;
  /** Stylizations holding a slot (decode, inference, encode). */
  inferenceInFlight: Gauge;
  /** Stylize requests refused because the queue was full. */
  queueRejected: Counter;
  /** Ratings received, by style, version and rating (good, bad). */
  feedback: Counter<'style' | 'version' | 'rating'>;
  /** Fraction done (0..1) of each running training job, by job, style and kind (train, finetune). */
  trainingProgress: Gauge<'job' | 'style' | 'kind'>;
  /** Training jobs finished, by kind and state (succeeded, failed, cancelled). */
  trainingJobs: Counter<'kind' | 'state'>;
  /** Share of a style's traffic each version gets (0..1), by style, version and role (stable, canary). */
  rolloutWeight: Gauge<'style' | 'version' | 'role'>;
  /** Rollout decisions taken by the analysis, by style and decision (hold, step_up, promote, rollback). */
  rolloutDecisions: Counter<'style' | 'decision'>;
}

const INFERENCE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128];

export function createPlatformMetrics(registry: Registry = createMetricsRegistry()): PlatformMetrics {
  const registers = [registry];
  return {
    registry,
    grpc: createCallMetrics(registry, 'nst_grpc_server', 'gRPC calls served'),
    inferenceSeconds: new Histogram({
      name: 'nst_inference_seconds',
      help: 'Style network time of one stylize (all tiles), by style and version',
      labelNames: ['style', 'version'],
      buckets: INFERENCE_BUCKETS,
      registers,
    }),
    queueDepth: new Gauge({ name: 'nst_stylize_queue_depth', help: 'Stylize requests waiting for an inference slot', registers }),
    inferenceInFlight: new Gauge({ name: 'nst_stylize_in_flight', help: 'Stylizations holding an inference slot', registers }),
    queueRejected: new Counter({
      name: 'nst_stylize_rejected_total',
      help: 'Stylize requests refused with RESOURCE_EXHAUSTED at admission, by reason: busy (slots and wait list full), client_limit, deadline (would not finish in time)',
      labelNames: ['reason'],
      registers,
    }),
    feedback: new Counter({
      name: 'nst_feedback_total',
      help: 'Ratings received, by style, version and rating',
      labelNames: ['style', 'version', 'rating'],
      registers,
    }),
    trainingProgress: new Gauge({
      name: 'nst_training_job_progress_ratio',
      help: 'Fraction done (0 to 1) of each running training job',
      labelNames: ['job', 'style', 'kind'],
      registers,
    }),
    trainingJobs: new Counter({
      name: 'nst_training_jobs_total',
      help: 'Training jobs finished, by kind and final state',
      labelNames: ['kind', 'state'],
      registers,
    }),
    rolloutWeight: new Gauge({
      name: 'nst_rollout_weight',
      help: "Share of a style's traffic (0 to 1) each version gets, by role",
      labelNames: ['style', 'version', 'role'],
      registers,
    }),
    rolloutDecisions: new Counter({
      name: 'nst_rollout_decisions_total',
      help: 'Rollout decisions of the canary analysis, by style and decision',
      labelNames: ['style', 'decision'],
      registers,
    }),
  };
}

let processMetrics: PlatformMetrics | undefined;

/** This process's platform metrics (created on first use; what its /metrics serves). */
export function platformMetrics(): PlatformMetrics {
  processMetrics ??= createPlatformMetrics();
  return processMetrics;
}

/**
 * Sets a style's rollout weights (nst_rollout_weight): the stable version gets what the canary
 * does not. `canaryPercent` is 0..100; without a canary the stable version gets it all. Earlier
 * series of the style (a canary since promoted or rolled back) are removed.
 */
export function recordRolloutWeights(
  style: string,
  stableVersion: string,
  canaryVersion: string | undefined,
  canaryPercent: number,
  metrics: PlatformMetrics = platformMetrics(),
): void {
  for (const role of ['stable', 'canary'] as const) {
    const known = weightSeries.get(`${style}\0${role}`);
    if (known !== undefined) metrics.rolloutWeight.remove({ style, version: known, role });
  }
  const canary = canaryVersion === undefined ? 0 : Math.min(100, Math.max(0, canaryPercent)) / 100;
  metrics.rolloutWeight.set({ style, version: stableVersion, role: 'stable' }, 1 - canary);
  weightSeries.set(`${style}\0stable`, stableVersion);
  if (canaryVersion !== undefined) {
    metrics.rolloutWeight.set({ style, version: canaryVersion, role: 'canary' }, canary);
    weightSeries.set(`${style}\0canary`, canaryVersion);
  } else {
    weightSeries.delete(`${style}\0canary`);
  }
}
const weightSeries = new Map<string, string>();

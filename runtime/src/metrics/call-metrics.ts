/**
 * Metrics every call-serving part of the platform records the same way: calls finished and
 * their latency by method and gRPC status code, and calls in flight by method. The gateway
 * (gRPC-Web calls) and every gRPC server (through grpcMetricsInterceptor) use this one shape,
 * so dashboards and alert rules read them alike.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets, seconds: from a quick ListStyles to a 50 MP stylize or a long stream. */
export const CALL_SECONDS_BUCKETS = [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120, 600];

export interface CallMetrics {
  calls: Counter<'method' | 'code'>;
  duration: Histogram<'method' | 'code'>;
  inFlight: Gauge<'method'>;
  /** Counts one finished call; `seconds` from its start. */
  observe(method: string, code: string, seconds: number): void;
}

/**
 * `<prefix>_calls_total`, `<prefix>_call_seconds` and `<prefix>_in_flight` on `registry`.
 * `what` names the calls in the help text ("gRPC-Web calls", "gRPC calls served").
 */
export function createCallMetrics(registry: Registry, prefix: string, what: string): CallMetrics {
  const calls = new Counter({
    name: `${prefix}_calls_total`,
    help: `${what} finished, by method and gRPC status code`,
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}_call_seconds`,
    help: `Time from request to status of ${what}, by method and gRPC status code`,
    labelNames: ['method', 'code'],
    buckets: CALL_SECONDS_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: `${prefix}_in_flight`,
    help: `${what} in progress, by method`,
    labelNames: ['method'],
    registers: [registry],
  });
  return {
    calls,
    duration,
    inFlight,
    observe(method, code, seconds) {
      calls.inc({ method, code });
      duration.observe({ method, code }, seconds);
    },
  };
}

/** A registry of its own (several services or gateways in one test process do not collide). */
export function createMetricsRegistry(options: { defaultMetricsPrefix?: string; defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: options.defaultMetricsPrefix ?? 'nst_' });
  return registry;
}

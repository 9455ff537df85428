/**
 * The platform's own spans, on top of what the gRPC, HTTP and fastify instrumentations record:
 * decode, queue wait, each inference tile, encode, each training phase, each rollout decision.
 * Code calls withSpan through the OpenTelemetry API only, so with the SDK off (nothing
 * configured) every call is a no-op span and costs next to nothing.
 */
import { SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';

/** Attribute names of the platform's spans (the `nst.` namespace), one spelling everywhere. */
export const SPAN_ATTRIBUTES = {
  style: 'nst.style',
  version: 'nst.version',
  pixels: 'nst.pixels',
  width: 'nst.width',
  height: 'nst.height',
  tiles: 'nst.tiles',
  tile: 'nst.tile',
  bytes: 'nst.bytes',
  outputBytes: 'nst.output_bytes',
  format: 'nst.format',
  queueDepth: 'nst.queue_depth',
  queuePosition: 'nst.queue_position',
  requestId: 'nst.request_id',
  job: 'nst.job',
  phase: 'nst.phase',
  step: 'nst.step',
  decision: 'nst.decision',
  weight: 'nst.weight',
  canary: 'nst.canary',
} as const;

const TRACER_NAME = '@nst/runtime';

/** The platform's tracer (a no-op one while no SDK is registered). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside a new active span named `name` (a child of the active span), ends it when
 * `fn` settles, and records a thrown error on it (status ERROR). `fn` receives the span to
 * add attributes it learns on the way.
 */
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T>;
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => T): T;
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => T | Promise<T>): T | Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, (span) => {
    const fail = (error: unknown): never => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.end();
      throw error;
    };
    let result: T | Promise<T>;
    try {
      result = fn(span);
    } catch (error) {
      return fail(error);
    }
    if (result instanceof Promise) {
      return result.then((value) => {
        span.end();
        return value;
      }, fail);
    }
    span.end();
    return result;
  });
}

/** Adds attributes to the active span (a gRPC server span, say); a no-op outside any span. */
export function annotateActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Structured logs for every service: pino writing ECS JSON (@elastic/ecs-pino-format), so
 * Elasticsearch/Kibana read them without an ingest pipeline. Each line carries service.name and,
 * when an OpenTelemetry span is active, trace.id and span.id, so logs join their traces in APM.
 * Secrets (authorization headers, tokens) are redacted before a line is written.
 */
import { ecsFormat } from '@elastic/ecs-pino-format';
import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { loadConfig, type LogLevel } from './config';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line (pino redact syntax; `*` is one level). */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  'token',
  'adminToken',
  'password',
  'secret',
  '*.authorization',
  '*.token',
  '*.adminToken',
  '*.password',
  '*.secret',
  'headers.authorization',
  'headers["x-admin-token"]',
  'metadata.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-admin-token"]',
  // Where ecs-pino-format moves `req` (convertReqRes) before redaction runs.
  'http.request.headers.authorization',
  'http.request.headers.cookie',
  'http.request.headers["x-admin-token"]',
  'config.adminToken',
];

export interface LoggerOptionsNst {
  /** Least severe level written; default NST_LOG_LEVEL. */
  level?: LogLevel;
  /** Service version, for service.version. */
  version?: string;
  /** Where lines go; default stdout. Tests pass a stream to read lines back. */
  destination?: DestinationStream;
  /** Extra paths to redact, on top of REDACTED_PATHS. */
  redact?: string[];
  /** Environment the level is read from when `level` is not given; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The object with every binary value (Buffer, Uint8Array, ArrayBuffer) replaced by its size, so
 * an image or a model that slips into a log call never reaches the log (nor a person's photo).
 */
function withoutBinary(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    let replaced: unknown = item;
    if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) replaced = `[binary: ${item.byteLength} bytes]`;
    // Plain objects only: requests, sockets and errors have their own serializers.
    else if (depth < 4 && item !== null && typeof item === 'object' && Object.getPrototypeOf(item) === Object.prototype) {
      replaced = withoutBinary(item as Record<string, unknown>, depth + 1);
    }
    if (replaced !== item) (copy ??= { ...value })[key] = replaced;
  }
  return copy ?? value;
}

/** A pino logger writing ECS JSON lines for `service`. */
export function createLogger(service: string, options: LoggerOptionsNst = {}): Logger {
  const level = options.level ?? loadConfig(options.env ?? process.env).logLevel;
  const ecs = ecsFormat({
    serviceName: service,
    ...(options.version ? { serviceVersion: options.version } : {}),
    convertReqRes: true,
    // The Elastic APM agent is not used (tracing is OpenTelemetry); the mixin adds trace ids.
    apmIntegration: false,
  });
  const ecsLog = ecs.formatters?.log;
  const settings: LoggerOptions = {
    ...ecs,
    // Binary values (image uploads, model bytes) become their size before ECS formatting.
    formatters: { ...ecs.formatters, log: (object) => (ecsLog ? ecsLog(withoutBinary(object, 0)) : withoutBinary(object, 0)) },
    level,
    redact: { paths: [...REDACTED_PATHS, ...(options.redact ?? [])], censor: '[redacted]' },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace: { id: traceId }, span: { id: spanId } };
    },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

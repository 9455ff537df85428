/**
 * Structured logs for every service: pino writing ECS JSON (@elastic/ecs-pino-format), so
 * Elasticsearch/Kibana read them without an ingest pipeline. Each line carries service.name and,
 * when an OpenTelemetry span is active, trace.id and span.id, so logs join their traces in APM.
 * Secrets (authorization headers, tokens) are redacted before a line is written.
 *
 * On a terminal (NST_LOG_FORMAT=pretty, the default when stdout is one) the same ECS records
 * are rendered by pino-pretty as short lines: time, level, service name, message, extra fields
 * on the same line, and an error's message (its stack too at error level and above).
 */
import { ecsFormat } from '@elastic/ecs-pino-format';
import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { isColorSupported, prettyFactory } from 'pino-pretty';
import { loadConfig, type LogFormat, type LogLevel } from './config';

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
  /** Environment the level and format are read from when not given; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** `json` (ECS) or `pretty`; default NST_LOG_FORMAT. */
  format?: LogFormat;
  /** Pretty format only: colour the level; default when the terminal supports it (FORCE_COLOR, NO_COLOR). */
  colorize?: boolean;
}

/** ECS fields every line carries that a person at a terminal does not need to read, and HTTP headers (long). */
const PRETTY_IGNORED = ['process.pid', 'host.hostname', 'ecs.version', 'service.name', 'service.version', 'event.dataset', 'trace.id', 'span.id', 'trace', 'span', 'error'];
const PRETTY_IGNORED_NESTED = ['http.request.headers', 'http.response.headers'];

interface EcsError {
  type?: string;
  message?: string;
  stack_trace?: string;
}

/**
 * pino-pretty over ECS records: `[12:00:00] INFO: style  message {"port":9461}`. Rendered in
 * this thread and written synchronously, so the last lines before process.exit are not lost.
 */
function prettyDestination(service: string, options: LoggerOptionsNst): DestinationStream {
  const prettify = prettyFactory({
    messageKey: 'message',
    timestampKey: '@timestamp',
    levelKey: 'log\\.level',
    translateTime: 'SYS:HH:MM:ss',
    // A dot in a key is escaped; the nested ones are paths.
    ignore: [...PRETTY_IGNORED.map((key) => key.replaceAll('.', '\\.')), ...PRETTY_IGNORED_NESTED].join(','),
    singleLine: true,
    // Errors are written by messageFormat below, not as a JSON block.
    errorLikeObjectKeys: [],
    colorize: options.colorize ?? isColorSupported,
    messageFormat: (log, messageKey) => {
      let line = `${service}  ${String(log[messageKey] ?? '')}`;
      const error = log['error'] as EcsError | undefined;
      if (error && typeof error === 'object') {
        const header = `${error.type ?? 'Error'}: ${error.message ?? ''}`;
        line += ` (${header})`;
        const level = String(log['log.level'] ?? '');
        if ((level === 'error' || level === 'fatal') && error.stack_trace) {
          // The stack's first line repeats the header.
          const stack = error.stack_trace.startsWith(header) ? error.stack_trace.slice(header.length).replace(/^\n/, '') : error.stack_trace;
          if (stack) line += `\n${stack.replace(/^(?!\s)/gm, '    ')}`;
        }
      }
      return line;
    },
  });
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  return { write: (line: string) => void out.write(prettify(line)) };
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

/** A pino logger writing ECS JSON lines for `service` (or, in the pretty format, those records as human lines). */
export function createLogger(service: string, options: LoggerOptionsNst = {}): Logger {
  const config = options.level && options.format ? undefined : loadConfig(options.env ?? process.env);
  const level = options.level ?? (config as NonNullable<typeof config>).logLevel;
  const format = options.format ?? (config as NonNullable<typeof config>).logFormat;
  // ECS lines carry the same service.name as the process's spans (OTEL_SERVICE_NAME, e.g.
  // nst-style), so Kibana shows a service's logs beside its traces; pretty lines keep the short name.
  const env = options.env ?? process.env;
  const ecs = ecsFormat({
    serviceName: env['OTEL_SERVICE_NAME'] || service,
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
  if (format === 'pretty') return pino(settings, prettyDestination(service, options));
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

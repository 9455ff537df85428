/**
 * Starts the OpenTelemetry Node SDK for one service process: gRPC (grpc-js client and server),
 * HTTP and fastify instrumentations, W3C trace context propagation, and an OTLP HTTP/protobuf
 * span exporter (what the Elastic APM server takes on port 8200 at /v1/traces).
 *
 * Configured only by the standard OTEL_* variables, read by the SDK itself:
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (where to send),
 * OTEL_EXPORTER_OTLP_HEADERS (`Authorization=Bearer <secret token>` or `Authorization=ApiKey <key>`),
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (service.version, deployment.environment),
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_* (batching), OTEL_SDK_DISABLED.
 * With no endpoint set nothing is started: no exporter, no instrumentation, one log line.
 *
 * Load it through register.ts (`node --import tsx --import @nst/runtime/telemetry/register`),
 * before any instrumented module: grpc-js, http and fastify are patched as they load.
 */
import FastifyOtelInstrumentation from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

export interface TelemetryState {
  enabled: boolean;
  /** Why tracing is off, or where spans go. */
  reason: string;
  sdk?: NodeSDK;
}

/** Whether the environment asks for span export; the reason reads as a log line. */
export function telemetryWanted(env: NodeJS.ProcessEnv = process.env): { enabled: boolean; reason: string } {
  const disabled = env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true';
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '').split(',').map((s) => s.trim());
  const endpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim() || env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (disabled) return { enabled: false, reason: 'tracing off: OTEL_SDK_DISABLED=true' };
  if (exporters.includes('none')) return { enabled: false, reason: 'tracing off: OTEL_TRACES_EXPORTER=none' };
  if (!endpoint) {
    return {
      enabled: false,
      reason: 'tracing off: set OTEL_EXPORTER_OTLP_ENDPOINT (for example http://apm-server:8200) to export spans',
    };
  }
  return { enabled: true, reason: `tracing on: OTLP http/protobuf spans to ${endpoint}` };
}

/** Starts the SDK when the environment asks for export; never throws. */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): TelemetryState {
  const wanted = telemetryWanted(env);
  if (!wanted.enabled) return wanted;
  const sdk = new NodeSDK({
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [
      new GrpcInstrumentation(),
      // Health probes and metric scrapes are noise in APM.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)(\?|$)/.test(request.url ?? ''),
      }),
      // Fastify's own spans (routes, hooks), registered through its diagnostics channel.
      new FastifyOtelInstrumentation({ registerOnInitialization: true, ignorePaths: (opts) => /^\/(healthz|readyz|metrics)$/.test(opts.url) }),
    ],
    // Metrics are Prometheus (prom-client) and logs are ECS JSON on stdout: traces only here.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { ...wanted, sdk };
}

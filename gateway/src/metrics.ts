/**
 * Prometheus metrics of the gateway (prom-client), on a registry of its own so several
 * gateways in one process (tests) do not collide. Calls, latency and in-flight work have the
 * shape every service of the platform records (@nst/runtime createCallMetrics); the byte
 * counters are the gateway's own.
 */
import { createCallMetrics, createMetricsRegistry, type CallMetrics } from '@nst/runtime';
import { Counter, type Registry } from 'prom-client';

export interface GatewayMetrics extends CallMetrics {
  registry: Registry;
  requestBytes: Counter<'method'>;
  responseBytes: Counter<'method'>;
}

export function createGatewayMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = createMetricsRegistry({ defaultMetrics: options.defaultMetrics ?? true, defaultMetricsPrefix: 'nst_gateway_' });
  return {
    registry,
    // nst_gateway_grpc_web_calls_total, _call_seconds, _in_flight
    ...createCallMetrics(registry, 'nst_gateway_grpc_web', 'gRPC-Web calls'),
    requestBytes: new Counter({
      name: 'nst_gateway_grpc_web_request_bytes_total',
      help: 'gRPC-Web request body bytes received, by method',
      labelNames: ['method'],
      registers: [registry],
    }),
    responseBytes: new Counter({
      name: 'nst_gateway_grpc_web_response_bytes_total',
      help: 'gRPC-Web response bytes sent (before text-mode base64), by method',
      labelNames: ['method'],
      registers: [registry],
    }),
  };
}

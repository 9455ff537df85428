/**
 * Prometheus metrics of the gateway (prom-client), on a registry of its own so several
 * gateways in one process (tests) do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  calls: Counter<'method' | 'code'>;
  duration: Histogram<'method'>;
  inFlight: Gauge<'method'>;
  requestBytes: Counter<'method'>;
  responseBytes: Counter<'method'>;
}

export function createGatewayMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'nst_gateway_' });
  return {
    registry,
    calls: new Counter({
      name: 'nst_gateway_grpc_web_calls_total',
      help: 'gRPC-Web calls finished, by method and gRPC status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'nst_gateway_grpc_web_call_seconds',
      help: 'Time from request to trailers of gRPC-Web calls, by method',
      labelNames: ['method'],
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120, 600],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'nst_gateway_grpc_web_in_flight',
      help: 'gRPC-Web calls in progress, by method',
      labelNames: ['method'],
      registers: [registry],
    }),
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

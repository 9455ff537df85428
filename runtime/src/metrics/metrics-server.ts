/**
 * /metrics over plain HTTP for a gRPC service (Prometheus scrapes HTTP, not gRPC), on the
 * service's metrics port (NST_STYLE_METRICS_PORT, NST_TRAINER_METRICS_PORT, NST_RELEASE_METRICS_PORT).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface RunningMetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `registry` at GET /metrics on host:port (port 0 picks a free one). */
export async function startMetricsServer(registry: Registry, options: { port: number; host?: string }): Promise<RunningMetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

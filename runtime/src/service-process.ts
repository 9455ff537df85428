/**
 * The life of one service process, shared by every service's main.ts (which `npm start` and
 * the container images both run): read and check the configuration, start the service, serve
 * Prometheus metrics on the service's own port, and on SIGINT or SIGTERM stop it (calls in
 * flight drain for up to NST_DRAIN_SECONDS, stores close), flush buffered spans and exit 0, or
 * 1 when it did not stop cleanly.
 */
import type { CoreConfig } from './config';
import { createLogger, type Logger } from './logging';
import { startMetricsServer } from './metrics/metrics-server';
import { platformMetrics } from './metrics/platform-metrics';
import { shutdownTelemetry } from './telemetry/state';

/** A started service, as far as its process cares: something to close. */
export interface ClosableService {
  /** Stops taking calls and lets those in flight finish for up to `graceMs` (NST_DRAIN_SECONDS). */
  close(graceMs?: number): Promise<void>;
}

export interface ServiceProcess<C extends CoreConfig> {
  /** Logger name and the key `npm start` knows it by (style, trainer, release, gateway). */
  key: string;
  /** How people call it: "StyleService". */
  title: string;
  /** Reads and checks the service's settings (the core and its own group: its package's config.ts). */
  loadConfig(): C;
  /** The port of its /metrics endpoint (0: none); a service that serves metrics itself returns 0. */
  metricsPort(config: C): number;
  start(config: C, logger: Logger): Promise<ClosableService>;
}

/** Runs `service` until a signal stops it. Resolves once it is started. */
export async function runServiceProcess<C extends CoreConfig>(service: ServiceProcess<C>): Promise<void> {
  const config = service.loadConfig();
  const logger = createLogger(service.key);
  const running = await service.start(config, logger);
  const metricsPort = service.metricsPort(config);
  const metrics = metricsPort > 0 ? await startMetricsServer(platformMetrics().registry, { port: metricsPort }) : undefined;
  if (metrics) logger.info({ port: metrics.port }, `${service.title} metrics at http://0.0.0.0:${metrics.port}/metrics`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${service.title} stopping`);
    Promise.all([running.close(config.drainSeconds * 1000), metrics?.close()]).then(
      // Spans still buffered are exported before the process goes.
      () => shutdownTelemetry().then(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error }, `${service.title} did not stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

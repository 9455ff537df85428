/**
 * Runs StyleService on its own, configured by the environment (see @nst/runtime's config):
 *
 *   node --import tsx --import @nst/runtime/telemetry/register inference/src/main.ts
 *
 * The registry is seeded with the starter styles when it lacks them. Stops cleanly on SIGINT
 * or SIGTERM: health turns NOT_SERVING, calls in flight finish, the feedback store closes.
 */
import { existsSync } from 'node:fs';
import {
  countingFeedbackSink,
  createLogger,
  loadConfig,
  ModelRegistry,
  openFeedbackStore,
  openStylizeEventStore,
  platformMetrics,
  shutdownTelemetry,
  startMetricsServer,
  startRetentionSweep,
  JsonlFeedbackStore,
  JsonlStylizeEventStore,
  type RetentionTarget,
} from '@nst/runtime';
import { startStyleServer } from './server/style-server';

const config = loadConfig();
const logger = createLogger('style-service');
const registry = await ModelRegistry.open(config.registryDir, {
  ...(existsSync(config.starterDir) ? { seedFrom: config.starterDir } : {}),
});
// Elasticsearch when ELASTICSEARCH_URL is set, else the embedded stores.
const feedbackStore = await openFeedbackStore(config);
// StyleService is the one writer of the serving events; ReleaseService reads them.
const events = await openStylizeEventStore(config);
const service = await startStyleServer({ config, registry, feedbackStore: countingFeedbackSink(feedbackStore), events, logger });
// This process writes the embedded stores, so it keeps them within their age limits
// (Elasticsearch's data streams have lifecycle policies for that).
const retention: RetentionTarget[] = [];
if (feedbackStore instanceof JsonlFeedbackStore) {
  retention.push({ name: 'feedback', retentionDays: config.feedbackRetentionDays, prune: (before) => feedbackStore.prune(before) });
}
if (events instanceof JsonlStylizeEventStore) {
  retention.push({ name: 'stylize events', retentionDays: config.stylizeEventRetentionDays, prune: (before) => events.prune(before) });
}
const sweep = startRetentionSweep(retention, { logger });
const metrics = config.styleMetricsPort > 0 ? await startMetricsServer(platformMetrics().registry, { port: config.styleMetricsPort }) : undefined;
logger.info(
  { port: service.port, registry: config.registryDir, feedback: config.feedbackDir, keptPhotos: config.keptPhotosDir },
  `StyleService ready on port ${service.port}`,
);

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'StyleService stopping');
  await service.close(10_000);
  await sweep.stop();
  await feedbackStore.close();
  await events.close();
  await metrics?.close();
  await shutdownTelemetry();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

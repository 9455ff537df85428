/**
 * StyleService's process: the one place it is assembled, run by `npm start` and by its
 * container image alike (configured by the environment, see @nst/runtime's config):
 *
 *   node --import tsx --import @nst/runtime/telemetry/register inference/src/main.ts
 *
 * It writes the feedback store and the serving events (Elasticsearch when ELASTICSEARCH_URL is
 * set, else the embedded JSON-lines stores, which it then keeps within their age limits) and
 * follows ReleaseService's rollouts. Stops cleanly on SIGINT or SIGTERM: health turns
 * NOT_SERVING, calls in flight finish, the stores close.
 */
import {
  countingFeedbackSink,
  JsonlFeedbackStore,
  JsonlStylizeEventStore,
  ModelRegistry,
  openFeedbackStore,
  openStylizeEventStore,
  runServiceProcess,
  startRetentionSweep,
  type RetentionTarget,
} from '@nst/runtime';
import { startStyleServer } from './server/style-server';

await runServiceProcess({
  key: 'style',
  title: 'StyleService',
  metricsPort: (config) => config.styleMetricsPort,
  start: async (config, logger) => {
    const registry = await ModelRegistry.open(config.registryDir);
    const feedbackStore = await openFeedbackStore(config);
    const events = await openStylizeEventStore(config);
    // Ratings are counted for Prometheus as they become durable.
    const service = await startStyleServer({ config, registry, feedbackStore: countingFeedbackSink(feedbackStore), events, logger });
    // Elasticsearch's data streams have lifecycle policies; the embedded stores are pruned here.
    const retention: RetentionTarget[] = [];
    if (feedbackStore instanceof JsonlFeedbackStore) {
      retention.push({ name: 'feedback', retentionDays: config.feedbackRetentionDays, prune: (before) => feedbackStore.prune(before) });
    }
    if (events instanceof JsonlStylizeEventStore) {
      retention.push({ name: 'stylize events', retentionDays: config.stylizeEventRetentionDays, prune: (before) => events.prune(before) });
    }
    const sweep = startRetentionSweep(retention, { logger });
    logger.info({ port: service.port, feedback: config.feedbackDir, keptPhotos: config.keptPhotosDir }, `StyleService ready on port ${service.port}`);
    return {
      close: async () => {
        await service.close(10_000);
        await sweep.stop();
        await feedbackStore.close();
        await events.close();
      },
    };
  },
});

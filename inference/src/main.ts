/**
 * StyleService's process: the one place it is assembled, run by `npm start` and by its
 * container image alike (configured by the environment: its settings in ./config.ts, with the
 * core and store settings of @nst/runtime):
 *
 *   node --import tsx --import @nst/runtime/telemetry/register inference/src/main.ts
 *
 * It owns no registry and no rollouts: styles and models come from TrainerService (WatchVersions,
 * FetchModel into its own model cache, NST_MODEL_CACHE_DIR) and routing from ReleaseService
 * (WatchRollouts). It writes the feedback store and the serving events (Elasticsearch when
 * ELASTICSEARCH_URL is set, else the embedded JSON-lines stores, which it then keeps within
 * their age limits). Stops cleanly on SIGINT or SIGTERM: health turns
 * NOT_SERVING, calls in flight finish, the stores close.
 */
import {
  countingFeedbackSink,
  JsonlFeedbackStore,
  JsonlStylizeEventStore,
  openFeedbackStore,
  openStylizeEventStore,
  resolveAdminToken,
  runServiceProcess,
  startRetentionSweep,
  type RetentionTarget,
} from '@nst/runtime';
import { loadStyleConfig } from './config';
import { startStyleServer } from './server/style-server';

await runServiceProcess({
  key: 'style',
  title: 'StyleService',
  loadConfig: () => loadStyleConfig(),
  metricsPort: (config) => config.styleMetricsPort,
  start: async (config, logger) => {
    const feedbackStore = await openFeedbackStore(config);
    const events = await openStylizeEventStore(config);
    // Consented photos go to TrainerService's KeepPhoto, an admin call.
    const { token: adminToken } = await resolveAdminToken(config.adminToken, config.dataDir);
    // Ratings are counted for Prometheus as they become durable.
    const service = await startStyleServer({ config: { ...config, adminToken }, feedbackStore: countingFeedbackSink(feedbackStore), events, logger });
    // Elasticsearch's data streams have lifecycle policies; the embedded stores are pruned here.
    const retention: RetentionTarget[] = [];
    if (feedbackStore instanceof JsonlFeedbackStore) {
      retention.push({ name: 'feedback', retentionDays: config.feedbackRetentionDays, prune: (before) => feedbackStore.prune(before) });
    }
    if (events instanceof JsonlStylizeEventStore) {
      retention.push({ name: 'stylize events', retentionDays: config.stylizeEventRetentionDays, prune: (before) => events.prune(before) });
    }
    const sweep = startRetentionSweep(retention, { logger });
    logger.info({ port: service.port, trainer: config.trainerAddr, modelCache: config.modelCacheDir, release: config.releaseAddr }, `StyleService ready on port ${service.port}`);
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

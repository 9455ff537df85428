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
 * their age limits). It starts while Elasticsearch is unreachable and answers health with
 * NOT_SERVING until its stores answered. Stops cleanly on SIGINT or SIGTERM: health turns
 * NOT_SERVING, calls in flight finish (up to NST_DRAIN_SECONDS), the stores close.
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
    // Elasticsearch may be down at start (or its sidecar not up yet): the stores keep trying,
    // and health says NOT_SERVING until both answered, instead of the process failing.
    const onUnreachable = (err: unknown, retryInMs: number): void =>
      logger.warn({ err, retryInMs }, 'Elasticsearch is not reachable yet; StyleService reports NOT_SERVING until it is');
    const feedbackStore = await openFeedbackStore(config, { onUnreachable });
    const events = await openStylizeEventStore(config, { onUnreachable });
    const ready = Promise.all([feedbackStore.ready, events.ready]);
    // Consented photos go to TrainerService's KeepPhoto, an admin call.
    const { token: adminToken } = await resolveAdminToken(config.adminToken, config.dataDir);
    // Ratings are counted for Prometheus as they become durable.
    const service = await startStyleServer({ config: { ...config, adminToken }, feedbackStore: countingFeedbackSink(feedbackStore), events, ready, logger });
    if (config.elasticsearchUrl) void ready.then(() => logger.info({}, 'Elasticsearch answered; StyleService is SERVING'));
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
      close: async (graceMs?: number) => {
        await service.close(graceMs);
        await sweep.stop();
        await feedbackStore.close();
        await events.close();
      },
    };
  },
});

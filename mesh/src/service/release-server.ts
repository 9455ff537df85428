/**
 * Assembles ReleaseService: the rollout state (RolloutStore, DecisionLog), the controller that
 * alone changes it, the analysis loop, auto-release of the versions TrainerService announces
 * (version-watch.ts), and the gRPC handlers,
 * served with health and reflection. `launchReleaseService` takes explicit parts (tests wire
 * their own); `startReleaseServer` builds them from the platform's configuration.
 */
import {
  JsonlFeedbackStore,
  createLogger,
  openFeedbackStore,
  openStylizeEventStore,
  resolveAdminToken,
  startGrpcServer,
  statsOf,
  type FeedbackQuery,
  type FeedbackStats,
  type FeedbackStore,
  type Logger,
  type ModelRegistry,
  type StylizeEventStore,
} from '@nst/runtime';
import { ReleaseServiceService } from '@nst/proto';
import type { ReleaseConfig } from '../config';
import { ReleaseAnalysis } from '../analysis/analysis-loop';
import { ClusterSync, istioApplier, type IstioApplier } from '../istio/cluster';
import type { AnalysisSettings } from '../analysis/analyze';
import { DecisionLog } from '../rollout/decision-log';
import { ReleaseController } from '../rollout/release-controller';
import { RolloutStore } from '../rollout/rollout-store';
import type { RolloutState } from '../rollout/schema';
import { createReleaseHandlers } from './release-handlers';
import { ReleaseVersionWatch } from './version-watch';

export const RELEASE_SERVICE_NAME = 'nst.v1.ReleaseService';

export interface ReleaseServiceOptions {
  /** host:port; port 0 picks a free port. */
  address: string;
  /** NST_RELEASES_DIR: rollouts.json and decisions.jsonl. */
  releasesDir: string;
  /** TrainerService, whose WatchVersions stream names the styles and announces new versions. */
  trainerAddr?: string;
  /** That stream's heartbeat and reconnect backoff, and how long start waits for its first catalogue (default 5 s). */
  catalogueWatch?: { heartbeatSeconds?: number; backoff?: { initialMs: number; maxMs: number }; readyWaitMs?: number };
  /** Instead of trainerAddr: a registry folder read and polled directly (tests without a TrainerService). */
  registry?: ModelRegistry;
  feedback: Pick<FeedbackStore, 'stats'>;
  events: Pick<StylizeEventStore, 'stats'>;
  adminToken: string;
  settings: AnalysisSettings;
  /** Time between analysis runs, in milliseconds. */
  analysisIntervalMs: number;
  /** Start a canary when a new version is registered. */
  autoRelease: boolean;
  /** With `registry`: how often it is polled for versions other processes registered; default 1000 ms. */
  registryPollMs?: number;
  /**
   * Cluster mode: the state is applied to Kubernetes at start, after every change (in the
   * background, ClusterSync) and every `reconcileMs` (0: never).
   */
  cluster?: { apply: IstioApplier; reconcileMs: number };
  logger: Logger;
}

export interface RunningReleaseService {
  port: number;
  controller: ReleaseController;
  analysis: ReleaseAnalysis;
  decisions: DecisionLog;
  store: RolloutStore;
  /** Cluster mode's background applier; absent locally. */
  cluster?: ClusterSync;
  /** The catalogue followed from TrainerService; absent with `registry`. */
  versions?: ReleaseVersionWatch;
  /** Stops the reconcile, the analysis and the version watch, then the server; closes the decision log. */
  close(graceMs?: number): Promise<void>;
}

export async function launchReleaseService(options: ReleaseServiceOptions): Promise<RunningReleaseService> {
  const { logger } = options;
  const store = new RolloutStore(options.releasesDir, { checkIntervalMs: 0 });
  const decisions = await DecisionLog.open(options.releasesDir);
  const cluster = options.cluster ? new ClusterSync({ ...options.cluster, logger }) : undefined;
  if (!options.trainerAddr === !options.registry) {
    throw new Error('launchReleaseService needs exactly one of trainerAddr (TrainerService WatchVersions) or registry (a folder)');
  }
  const versions = options.trainerAddr
    ? new ReleaseVersionWatch({
        trainerAddr: options.trainerAddr,
        releasesDir: options.releasesDir,
        store,
        autoRelease: options.autoRelease,
        logger,
        ...(options.catalogueWatch?.heartbeatSeconds ? { heartbeatSeconds: options.catalogueWatch.heartbeatSeconds } : {}),
        ...(options.catalogueWatch?.backoff ? { backoff: options.catalogueWatch.backoff } : {}),
      })
    : undefined;
  const controller = new ReleaseController({
    store,
    decisions,
    registry: versions ?? (options.registry as ModelRegistry),
    ladder: options.settings.ladder,
    logger,
    // Resolves at once: the cluster catches up outside the controller's lock.
    ...(cluster ? { onChange: (state: RolloutState) => Promise.resolve(cluster.offer(state)) } : {}),
  });
  // New versions: TrainerService's catalogue, compared with what this service already acted on
  // (versions registered while it was down included); or, with a folder, its poll. Followed
  // before init, so the styles are known when the first state is made and applied.
  const stopVersions = versions ? await followCatalogue(versions, controller, options.catalogueWatch?.readyWaitMs ?? 5000) : await pollRegistry(options.registry as ModelRegistry, controller, options);
  await controller.init();
  if (cluster) {
    // Bring the cluster in line with the state at start, not only after changes.
    cluster.offer(await store.read());
    cluster.start();
  }


  const analysis = new ReleaseAnalysis({
    controller,
    feedback: options.feedback,
    events: options.events,
    settings: options.settings,
    intervalMs: options.analysisIntervalMs,
    logger,
  });
  analysis.start();

  const handlers = createReleaseHandlers({ controller, decisions, analysis, rollouts: store, adminToken: options.adminToken, logger });
  const grpc = await startGrpcServer({
    address: options.address,
    services: [{ name: RELEASE_SERVICE_NAME, definition: ReleaseServiceService, implementation: handlers.implementation }],
  });
  logger.info(
    { address: options.address, port: grpc.port, releasesDir: options.releasesDir, autoRelease: options.autoRelease, settings: options.settings },
    'ReleaseService listening',
  );

  let closing: Promise<void> | undefined;
  return {
    port: grpc.port,
    controller,
    analysis,
    decisions,
    store,
    ...(cluster ? { cluster } : {}),
    ...(versions ? { versions } : {}),
    close: (graceMs = 5000) => {
      closing ??= (async () => {
        await stopVersions();
        const serverClosed = grpc.close(graceMs);
        // Open WatchRollouts streams would hold the graceful shutdown for its whole grace time.
        handlers.endWatches('ReleaseService is shutting down; route by the last rollout state it sent');
        await analysis.stop();
        await cluster?.stop();
        await serverClosed;
        await decisions.close();
      })();
      return closing;
    },
  };
}

async function followCatalogue(versions: ReleaseVersionWatch, controller: ReleaseController, waitMs: number): Promise<() => Promise<void>> {
  await versions.start(controller, waitMs);
  return () => versions.stop();
}

/** The folder path: the registry's poll announces versions other processes register. */
async function pollRegistry(registry: ModelRegistry, controller: ReleaseController, options: ReleaseServiceOptions): Promise<() => Promise<void>> {
  const { logger } = options;
  const unsubscribe = registry.onVersionRegistered((record) => {
    if (!options.autoRelease) {
      logger.info({ style: record.style, version: record.version }, 'version registered; auto-release is off (NST_AUTO_RELEASE), no canary started');
    }
    controller.onVersionRegistered(record.style, record.version, options.autoRelease).catch((error: unknown) =>
      logger.error({ err: error, style: record.style, version: record.version }, 'auto-release could not start a canary for a new version'),
    );
  });
  const watch = registry.watch({
    intervalMs: options.registryPollMs ?? 1000,
    onError: (error) => logger.warn({ err: error }, 'registry poll failed; trying again'),
  });
  await watch.ready;
  return async () => {
    watch.stop();
    unsubscribe();
  };
}

/**
 * Ratings from the embedded feedback store, opened read-only on first use: the file may not
 * exist yet (no rating so far), and then every count is zero.
 */
export class LazyFeedbackStats implements Pick<FeedbackStore, 'stats'> {
  /**
   * The one opening, shared: the analysis asks for both arms at once, and two opens would
   * leave one store's file handle to the garbage collector (DEP0137).
   */
  private opening: Promise<JsonlFeedbackStore> | undefined;
  private closed = false;
  constructor(private readonly dir: string) {}

  async stats(filter?: FeedbackQuery): Promise<FeedbackStats> {
    if (this.closed) throw new Error(`feedback stats of ${this.dir} are closed`);
    const opening = (this.opening ??= JsonlFeedbackStore.open(this.dir, { readOnly: true }));
    let store: JsonlFeedbackStore;
    try {
      store = await opening;
    } catch (error) {
      // Not there yet (no rating so far): every count is zero, and the next call tries again.
      if (this.opening === opening) this.opening = undefined;
      if (error instanceof Error && /does not exist/.test(error.message)) return statsOf([]);
      throw error;
    }
    return store.stats(filter);
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    await opening?.then(
      (store) => store.close(),
      () => undefined,
    );
  }
}

/** The analysis settings from the configuration. */
export function analysisSettings(config: ReleaseConfig): AnalysisSettings {
  return {
    ladder: config.canaryLadder,
    minRatings: config.analysisMinRatings,
    minCalls: config.analysisMinCalls,
    alpha: config.analysisAlpha,
    errorMargin: config.analysisErrorMargin,
    latencyRatio: config.analysisLatencyRatio,
    minStepSeconds: config.analysisMinStepSeconds,
  };
}

export interface StartReleaseOptions {
  logger?: Logger;
  /** Follows this TrainerService's catalogue instead of config.trainerAddr. */
  trainerAddr?: string;
  /** Rating source; the embedded feedback store (read-only) when absent. */
  feedback?: Pick<FeedbackStore, 'stats'>;
  /** Serving-event source; the embedded event store (read-only) when absent. */
  events?: Pick<StylizeEventStore, 'stats'> & { close?(): Promise<void> };
  /** Listen here instead of config.releaseAddr. */
  address?: string;
  /**
   * Applies the state to Kubernetes; default: in cluster mode (NST_RELEASE_MODE=cluster) the
   * Istio routing and canary track (../istio/cluster.ts), locally nothing.
   */
  clusterApply?: IstioApplier;
}

/** ReleaseService as `npm start` and a deployment run it. */
export async function startReleaseServer(config: ReleaseConfig, options: StartReleaseOptions = {}): Promise<RunningReleaseService> {
  const logger = options.logger ?? createLogger('release');
  const adminToken = await resolveAdminToken(config.adminToken, config.dataDir);
  // Elasticsearch when ELASTICSEARCH_URL is set, else the embedded stores StyleService writes.
  const ownFeedback = options.feedback
    ? undefined
    : config.elasticsearchUrl
      ? await openFeedbackStore(config, { readOnly: true })
      : new LazyFeedbackStats(config.feedbackDir);
  const feedback = options.feedback ?? (ownFeedback as Pick<FeedbackStore, 'stats'>);
  const ownEvents = options.events ? undefined : await openStylizeEventStore(config, { readOnly: true });
  const events = options.events ?? (ownEvents as StylizeEventStore);
  const clusterApply =
    options.clusterApply ??
    (config.releaseMode === 'cluster'
      ? istioApplier({
          routing: { namespace: config.clusterNamespace, service: config.clusterStyleService },
          canary: {
            deployment: config.clusterCanaryDeployment,
            replicas: config.clusterCanaryReplicas,
            readyTimeoutMs: config.clusterCanaryReadySeconds * 1000,
          },
        })
      : undefined);
  const running = await launchReleaseService({
    address: options.address ?? config.releaseAddr,
    releasesDir: config.releasesDir,
    // TrainerService owns the registry; its WatchVersions stream announces new versions.
    trainerAddr: options.trainerAddr ?? config.trainerAddr,
    feedback,
    events,
    adminToken: adminToken.token,
    settings: analysisSettings(config),
    analysisIntervalMs: config.analysisIntervalSeconds * 1000,
    autoRelease: config.autoRelease,
    ...(clusterApply ? { cluster: { apply: clusterApply, reconcileMs: config.clusterReconcileSeconds * 1000 } } : {}),
    logger,
  });
  return {
    ...running,
    close: async (graceMs?: number) => {
      await running.close(graceMs);
      await ownFeedback?.close();
      await ownEvents?.close();
    },
  };
}


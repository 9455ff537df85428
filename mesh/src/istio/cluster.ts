/**
 * Cluster mode (NST_RELEASE_MODE=cluster): after every change of the rollout state,
 * ReleaseService brings Kubernetes in line with it through @kubernetes/client-node:
 *
 * - routing: the Istio objects rendered from the state (render.ts), by server-side apply as
 *   field manager `nst-release`, the DestinationRule before the VirtualService (on a fresh
 *   cluster the subsets must exist before a route names them; after that the DestinationRule
 *   never changes, its two track subsets being constant);
 * - the canary track: the canary Deployment (pods labelled `nst.dev/track: canary`) has
 *   replicas only while some style's canary gets calls. Make before break: when a canary
 *   starts, the Deployment is scaled up and its pods must be available before any route sends
 *   calls there (an empty subset answers 503); when the last canary ends, routing moves away
 *   first and the Deployment is scaled to 0 after. When a pass finds the track without available
 *   pods while canary routing may be in effect (pods lost, replicas reset), it first routes every
 *   style to stable (`heldAtStable`), then waits for the pods and routes to the canary again.
 *
 * ClusterSync runs the applier in the background, one pass at a time, and every
 * NST_CLUSTER_RECONCILE_SECONDS again, which undoes drift and retries failed passes.
 *
 * The in-process weighted router keeps working either way: StyleService pods honour the
 * `x-nst-version` header each route sets.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from '@nst/runtime';
import type { RolloutRecord, RolloutState } from '../rollout/schema';
import { heldAtStable, renderIstioRouting, routesToCanary, type IstioRoutingOptions } from './render';

export const FIELD_MANAGER = 'nst-release';
const GROUP = 'networking.istio.io';
const VERSION = 'v1';

export interface CanaryTrackOptions {
  /** The canary track's Deployment, in the routing's namespace; default `nst-style-canary`. */
  deployment?: string;
  /** Replicas it runs while a canary gets calls; default 1. */
  replicas?: number;
  /** How long its replicas may take to become available; default 120 s. */
  readyTimeoutMs?: number;
  /** How often its status is read while waiting; default 2 s. */
  pollMs?: number;
}

export interface IstioApplierOptions {
  routing: IstioRoutingOptions;
  canary?: CanaryTrackOptions;
  /** Where the API server is; default: in-cluster service account or ~/.kube/config. */
  kubeConfig?: KubeConfig;
}

/**
 * Brings the cluster in line with `state` and says what it had to change (empty: nothing had
 * drifted). `signal` abandons a wait for canary pods, when a newer state supersedes this one.
 * `onHeld` is told at once, before that wait, when the pass routed every style to stable because
 * the canary track had no available pods, with the changes that took (not repeated in the
 * returned list): the wait may last minutes or time out.
 */
export type IstioApplier = (state: RolloutState, signal?: AbortSignal, onHeld?: (changes: string[]) => void) => Promise<string[]>;

export class CanaryNotReadyError extends Error {
  constructor(
    readonly deployment: string,
    readonly available: number,
    readonly wanted: number,
    readonly waitedMs: number,
    /** Every style is routed to stable meanwhile (the canary had been routed, then lost its pods). */
    readonly heldAtStable = false,
  ) {
    super(
      `canary Deployment ${deployment} has ${available} of ${wanted} replicas available after ${Math.round(waitedMs / 1000)} s; ` +
        (heldAtStable
          ? 'every style stays routed to stable until they are (retried by the next reconcile or rollout change)'
          : 'routing left unchanged, so a canary not yet routed gets no calls (retried by the next reconcile or rollout change)'),
    );
    this.name = 'CanaryNotReadyError';
  }
}

export function istioApplier(options: IstioApplierOptions): IstioApplier {
  const kubeConfig =
    options.kubeConfig ??
    (() => {
      const config = new KubeConfig();
      config.loadFromDefault();
      return config;
    })();
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const namespace = options.routing.namespace;
  const deployment = options.canary?.deployment ?? 'nst-style-canary';
  const replicas = options.canary?.replicas ?? 1;
  const readyTimeoutMs = options.canary?.readyTimeoutMs ?? 120_000;
  const pollMs = options.canary?.pollMs ?? 2_000;

  const apply = (plural: string, body: { metadata?: { name?: string; namespace?: string }; spec?: unknown }) =>
    custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: body.metadata?.namespace as string,
        plural,
        name: body.metadata?.name as string,
        body,
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );

  // The scale subresource, as `kubectl scale` does: it needs RBAC on deployments/scale only.
  const scale = (count: number) =>
    apps.patchNamespacedDeploymentScale(
      { name: deployment, namespace, body: { spec: { replicas: count } }, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

  const readAvailable = async (): Promise<number> => {
    const current = await apps.readNamespacedDeployment({ name: deployment, namespace });
    return current.status?.availableReplicas ?? 0;
  };

  const waitAvailable = async (signal: AbortSignal | undefined, whileShort: (available: number) => Promise<void>): Promise<void> => {
    const started = Date.now();
    for (;;) {
      signal?.throwIfAborted();
      const available = await readAvailable();
      if (available >= replicas) return;
      await whileShort(available);
      const waited = Date.now() - started;
      if (waited + pollMs > readyTimeoutMs) throw new CanaryNotReadyError(`${namespace}/${deployment}`, available, replicas, waited, holding);
      await sleep(pollMs, undefined, signal ? { signal } : {});
    }
  };

  // Only for the idle track: whether this process already set it to 0. A live canary's scale
  // is read from the cluster every time, since anyone (a `kubectl apply` of the base) may reset it.
  let scaledTo: number | undefined;
  // The routing objects' resourceVersions from the last apply: an apply that returns another
  // one changed the object (first apply, a new state, or undoing a hand edit).
  const applied = new Map<string, string | undefined>();
  // Whether the VirtualService this process applied last sends calls to the canary subset;
  // undefined before its first apply and after one that failed (it may have landed or not), when a
  // canary track without pods must be taken as routed to.
  let canaryRouted: boolean | undefined;
  // The routing applied last is held at stable for want of canary pods.
  let holding = false;

  const applyObject = async (plural: string, body: Parameters<typeof apply>[1], changes: string[]) => {
    const result = (await apply(plural, body)) as { metadata?: { resourceVersion?: string } };
    const version = result.metadata?.resourceVersion;
    const key = `${plural}/${body.metadata?.name ?? ''}`;
    if (!applied.has(key) || applied.get(key) !== version) changes.push(`applied ${key}`);
    applied.set(key, version);
  };

  const applyRouting = async (records: RolloutState | readonly RolloutRecord[], changes: string[]) => {
    const next = renderIstioRouting(records, options.routing);
    await applyObject('destinationrules', next.destinationRule, changes);
    canaryRouted = undefined;
    await applyObject('virtualservices', next.virtualService, changes);
    canaryRouted = routesToCanary(records);
  };

  return async (state, signal, onHeld) => {
    const canary = routesToCanary(state);
    const changes: string[] = [];
    if (canary) {
      // One read gives both the replicas asked for and those available (RBAC: get deployments).
      const current = await apps.readNamespacedDeployment({ name: deployment, namespace });
      const asked = current.spec?.replicas ?? 0;
      const available = current.status?.availableReplicas ?? 0;
      if (asked !== replicas) {
        await scale(replicas);
        changes.push(`scaled ${namespace}/${deployment} from ${asked} to ${replicas} replicas`);
      }
      scaledTo = replicas;
      // Only an empty track is routed around (with some pods up the canary is still served), and
      // only while canary routing may be in effect: a canary not yet routed has nothing to undo.
      const holdIfEmpty = async (count: number) => {
        if (count > 0 || canaryRouted === false) return;
        changes.push(`canary track ${namespace}/${deployment} has 0 of ${replicas} replicas available: every style held at stable until it has`);
        await applyRouting(heldAtStable(state), changes);
        holding = true;
        onHeld?.(changes.splice(0));
      };
      if (asked !== replicas || available < replicas) {
        await holdIfEmpty(available);
        await waitAvailable(signal, holdIfEmpty);
        changes.push(`${namespace}/${deployment} has ${replicas} replicas available`);
      }
    }
    await applyRouting(state, changes);
    if (holding && canary) changes.push(`canary routing restored: ${namespace}/${deployment} has its pods back`);
    holding = false;
    if (!canary && scaledTo !== 0) {
      await scale(0);
      scaledTo = 0;
      changes.push(`scaled ${namespace}/${deployment} to 0 replicas`);
    }
    return changes;
  };
}

export interface ClusterSyncOptions {
  apply: IstioApplier;
  /** Time between reconciles in milliseconds (NST_CLUSTER_RECONCILE_SECONDS); 0: none. */
  reconcileMs: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * Runs the applier outside the release controller's lock, one pass at a time, so a canary's
 * pods coming up (up to NST_CLUSTER_CANARY_READY_SECONDS) never holds up the next rollout
 * change. `offer` records the state to reach and returns at once; the newest offered state wins,
 * and it cuts short a pass still waiting for canary pods for an older one. The reconcile
 * re-applies the last state every `reconcileMs`, which undoes drift (a canary Deployment reset to
 * 0 by a `kubectl apply`, hand-edited routing) and retries failed passes.
 */
export class ClusterSync {
  private desired: RolloutState | undefined;
  /** `desired` has not been applied by a pass started after it was set. */
  private pending = false;
  private running: Promise<void> | undefined;
  private superseded: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ClusterSyncOptions) {}

  /** The controller's onChange: applies `state` soon, in the background. */
  offer(state: RolloutState): void {
    this.desired = state;
    this.pending = true;
    this.superseded?.abort();
    this.kick('change');
  }

  /**
   * Re-applies the last offered state; false (nothing done) when a pass is already running,
   * since that one applies the newest state anyway, or when nothing was offered yet.
   */
  async reconcile(): Promise<boolean> {
    if (this.stopped || this.running || !this.desired) return false;
    this.pending = true;
    this.kick('reconcile');
    await this.running;
    return true;
  }

  /** Resolves once no pass runs (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  start(): void {
    if (this.options.reconcileMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.reconcile(), this.options.reconcileMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.superseded?.abort();
    await this.settled();
  }

  private kick(cause: 'change' | 'reconcile'): void {
    if (this.running) return;
    this.running = this.drain(cause).finally(() => {
      this.running = undefined;
    });
  }

  private async drain(cause: 'change' | 'reconcile'): Promise<void> {
    const retried = this.options.reconcileMs > 0 ? `retried by the next reconcile (every ${this.options.reconcileMs / 1000} s)` : 'retried on the next rollout change';
    while (this.pending && !this.stopped && this.desired) {
      this.pending = false;
      const superseded = new AbortController();
      this.superseded = superseded;
      const passCause = cause;
      const onHeld = (changes: string[]) =>
        this.options.logger.warn({ changes, cause: passCause }, 'canary track has no available pods: every style routed to stable until they are back');
      try {
        const changes = await this.options.apply(this.desired, superseded.signal, onHeld);
        if (changes.length > 0) this.options.logger.info({ changes, cause }, 'cluster brought in line with the release state');
      } catch (error) {
        // Cut short by a newer state, which the loop applies next: not a failure.
        if (superseded.signal.aborted) continue;
        if (cause === 'reconcile') this.options.logger.warn({ err: error }, `reconcile could not bring the cluster in line with the release state; ${retried}`);
        else this.options.logger.error({ err: error }, `release state changed here but could not be applied to the cluster; ${retried}`);
      } finally {
        this.superseded = undefined;
      }
      // A state offered during the pass is a change, whatever started the loop.
      cause = 'change';
    }
  }
}

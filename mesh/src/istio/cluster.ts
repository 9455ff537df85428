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
 *   first and the Deployment is scaled to 0 after.
 *
 * The in-process weighted router keeps working either way: StyleService pods honour the
 * `x-nst-version` header each route sets.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { RolloutState } from '../rollout/schema';
import { renderIstioRouting, routesToCanary, type IstioRoutingOptions } from './render';

export const FIELD_MANAGER = 'nst-release';
const GROUP = 'networking.istio.io';
const VERSION = 'v1';

export interface CanaryTrackOptions {
  /** The canary track's Deployment, in the routing's namespace; default `nst-inference-canary`. */
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

export type IstioApplier = (state: RolloutState) => Promise<void>;

export class CanaryNotReadyError extends Error {
  constructor(
    readonly deployment: string,
    readonly available: number,
    readonly wanted: number,
    readonly waitedMs: number,
  ) {
    super(
      `canary Deployment ${deployment} has ${available} of ${wanted} replicas available after ${Math.round(waitedMs / 1000)} s; ` +
        'routing left unchanged, no calls sent to the canary subset (retried on the next rollout change)',
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
  const deployment = options.canary?.deployment ?? 'nst-inference-canary';
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

  const waitAvailable = async (): Promise<void> => {
    const started = Date.now();
    for (;;) {
      const current = await apps.readNamespacedDeployment({ name: deployment, namespace });
      const available = current.status?.availableReplicas ?? 0;
      if (available >= replicas) return;
      const waited = Date.now() - started;
      if (waited + pollMs > readyTimeoutMs) throw new CanaryNotReadyError(`${namespace}/${deployment}`, available, replicas, waited);
      await sleep(pollMs);
    }
  };

  // What this process last asked of the canary Deployment, and whether it saw those replicas
  // available; unknown at start, so the first apply sets the scale whatever it is.
  let scaledTo: number | undefined;
  let ready = false;

  return async (state) => {
    const next = renderIstioRouting(state, options.routing);
    const canary = routesToCanary(state);
    if (canary) {
      if (scaledTo !== replicas) {
        await scale(replicas);
        scaledTo = replicas;
        ready = false;
      }
      if (!ready) {
        await waitAvailable();
        ready = true;
      }
    }
    await apply('destinationrules', next.destinationRule);
    await apply('virtualservices', next.virtualService);
    if (!canary && scaledTo !== 0) {
      await scale(0);
      scaledTo = 0;
      ready = false;
    }
  };
}

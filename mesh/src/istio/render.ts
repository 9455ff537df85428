/**
 * The cluster's traffic split, rendered from the same rollout records the local router reads:
 * one Istio DestinationRule and one VirtualService for StyleService's Kubernetes Service. This
 * function is the only source of those objects (the committed k8s manifests are generated from
 * it, and cluster mode applies its output), so no hand-kept copy can drift.
 *
 * Subsets are release tracks, not versions: version numbers are per style (mosaic v2 and hatch
 * v2 are different models) and every StyleService pod can serve every version of every style
 * (shared registry; the pod serves the version `x-nst-version` names). So the DestinationRule
 * always has exactly two subsets, `stable` and `canary`, selecting pods labelled
 * `nst.dev/track: stable|canary` (the two StyleService Deployments, nst-style-stable and -canary). The canary subset is there
 * even with no canary running: an empty subset is harmless while no route names it, and a
 * constant DestinationRule can never lack a subset a VirtualService names.
 *
 * VirtualService routes, first match wins (the local router's rules, rollout-router.ts):
 *   1. pin: any request already carrying `x-nst-version` -> the stable subset, unchanged (any
 *      pod serves the pinned version);
 *   then per style (header `x-nst-style` exact <style>; the body names the style too, but Istio
 *   routes on headers only, so callers in the cluster send it as metadata):
 *   2. sticky canary: header `x-nst-bucket` (set by the Envoy Lua filter from `x-nst-client-id`,
 *      FNV-1a 32 mod 100, see @nst/runtime/routing bucket.ts) matching 0..weight-1 -> the canary subset;
 *   3. any other bucket (a caller with a client id outside the canary's buckets) -> stable;
 *   4. no client id: weighted stable / canary per call.
 *   A style at canary weight 100 sends every call to the canary subset; a style without a
 *   canary sends every call to the stable subset. Each of these routes sets `x-nst-version` to
 *   the version it picked, so the pod serves exactly that. Calls without `x-nst-style` go to
 *   the stable subset, the pod picking the version.
 *
 * gRPC calls are balanced per request only when the Service port is named `grpc` (or carries
 * appProtocol: grpc); the k8s manifests do that.
 */
import type { IDestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import type { RolloutRecord, RolloutState } from '../rollout/schema';

export const TRACK_LABEL = 'nst.dev/track';
export const VERSION_HEADER = 'x-nst-version';
export const STYLE_HEADER = 'x-nst-style';
export const BUCKET_HEADER = 'x-nst-bucket';
export const CLIENT_ID_HEADER = 'x-nst-client-id';

export interface IstioRoutingOptions {
  /** Namespace of the objects and of StyleService's Service. */
  namespace: string;
  /** Name of StyleService's Kubernetes Service (the route host, in short form). */
  service: string;
  /** The Service's gRPC port; default 50051. */
  port?: number;
  /** Name of both objects; default `<service>-releases`. */
  name?: string;
  /** Gateways the VirtualService also applies to (`mesh` is always included). */
  gateways?: string[];
  /** Labels added to both objects' metadata. */
  labels?: Record<string, string>;
}

export type VirtualServiceObject = IVirtualService & { apiVersion: 'networking.istio.io/v1'; kind: 'VirtualService' };
export type DestinationRuleObject = IDestinationRule & { apiVersion: 'networking.istio.io/v1'; kind: 'DestinationRule' };

export interface IstioRouting {
  virtualService: VirtualServiceObject;
  destinationRule: DestinationRuleObject;
}

type HttpRoute = NonNullable<NonNullable<IVirtualService['spec']>['http']>[number];

export type Track = 'stable' | 'canary';
/** Subset name = track name = the pods' `nst.dev/track` label. */
export const TRACKS: readonly Track[] = ['stable', 'canary'];

/** An RE2 regex matching exactly the decimal buckets 0..weight-1. */
export function bucketRegex(weight: number): string {
  const buckets = Array.from({ length: Math.max(0, Math.min(100, weight)) }, (_, i) => String(i));
  return `^(${buckets.join('|')})$`;
}

/** The version a style's canary serves, when it gets any calls: canary phase, weight > 0. */
export function liveCanaryVersion(record: RolloutRecord): string | undefined {
  return record.phase === 'canary' && record.canaryVersion !== undefined && record.canaryWeight > 0 ? record.canaryVersion : undefined;
}

const recordsOf = (rollouts: RolloutState | readonly RolloutRecord[]): RolloutRecord[] =>
  [...(Array.isArray(rollouts) ? rollouts : Object.values((rollouts as RolloutState).rollouts))];

/** Whether any route of the rendered VirtualService sends calls to the canary subset. */
export function routesToCanary(rollouts: RolloutState | readonly RolloutRecord[]): boolean {
  return recordsOf(rollouts).some((record) => liveCanaryVersion(record) !== undefined);
}

/**
 * The records as if no style's canary got calls (weight 0), each style served by its stable
 * version on the stable subset. Cluster mode routes this while the canary track has no available
 * pods, so a live canary's share is not sent to an empty subset (503 "no healthy upstream"); the
 * rollout records themselves are left as they are.
 */
export function heldAtStable(rollouts: RolloutState | readonly RolloutRecord[]): RolloutRecord[] {
  return recordsOf(rollouts).map((record) => (liveCanaryVersion(record) === undefined ? record : { ...record, canaryWeight: 0 }));
}

const byStyle = (a: RolloutRecord, b: RolloutRecord): number => (a.style < b.style ? -1 : a.style > b.style ? 1 : 0);

export function renderIstioRouting(rollouts: RolloutState | readonly RolloutRecord[], options: IstioRoutingOptions): IstioRouting {
  const records = recordsOf(rollouts).sort(byStyle);
  const host = `${options.service}.${options.namespace}.svc.cluster.local`;
  const port = options.port ?? 50051;
  const name = options.name ?? `${options.service}-releases`;
  const metadata = { name, namespace: options.namespace, ...(options.labels ? { labels: { ...options.labels } } : {}) };

  const to = (track: Track) => ({ host, subset: track, port: { number: port } });
  const serving = (track: Track, version: string, weight?: number) => ({
    destination: to(track),
    ...(weight !== undefined ? { weight } : {}),
    headers: { request: { set: { [VERSION_HEADER]: version } } },
  });

  const http: HttpRoute[] = [{ name: 'pinned', match: [{ headers: { [VERSION_HEADER]: { regex: '^.+$' } } }], route: [{ destination: to('stable') }] }];

  for (const record of records) {
    const style = { [STYLE_HEADER]: { exact: record.style } };
    const canary = liveCanaryVersion(record);
    if (canary === undefined) {
      http.push({ name: `${record.style}-stable`, match: [{ headers: style }], route: [serving('stable', record.stableVersion)] });
      continue;
    }
    const weight = record.canaryWeight;
    if (weight >= 100) {
      http.push({ name: `${record.style}-canary`, match: [{ headers: style }], route: [serving('canary', canary)] });
      continue;
    }
    http.push(
      {
        name: `${record.style}-sticky-canary`,
        match: [{ headers: { ...style, [BUCKET_HEADER]: { regex: bucketRegex(weight) } } }],
        route: [serving('canary', canary)],
      },
      {
        name: `${record.style}-sticky-stable`,
        match: [{ headers: { ...style, [BUCKET_HEADER]: { regex: '^[0-9]+$' } } }],
        route: [serving('stable', record.stableVersion)],
      },
      {
        name: `${record.style}-weighted`,
        match: [{ headers: style }],
        route: [serving('stable', record.stableVersion, 100 - weight), serving('canary', canary, weight)],
      },
    );
  }
  http.push({ name: 'unrouted', route: [{ destination: to('stable') }] });

  return {
    destinationRule: {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata,
      spec: { host, subsets: TRACKS.map((track) => ({ name: track, labels: { [TRACK_LABEL]: track } })) },
    },
    virtualService: {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata,
      spec: { hosts: [host], gateways: ['mesh', ...(options.gateways ?? [])], http },
    },
  };
}

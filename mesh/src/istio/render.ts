/**
 * The cluster's traffic split, rendered from the same rollout records the local router reads:
 * one Istio DestinationRule and one VirtualService for StyleService's Kubernetes Service. This
 * function is the only source of those objects (the committed k8s manifests are generated from
 * it, and cluster mode applies its output), so no hand-kept copy can drift.
 *
 * DestinationRule: one subset per version any style's stable or canary uses, named `v<version>`,
 * selecting pods labelled `nst.dev/version: "<version>"`.
 *
 * VirtualService routes, first match wins (the local router's rules, rollout-router.ts):
 *   1. pins: header `x-nst-version` exact <v> -> subset v<v>, for every subset;
 *   then per style (header `x-nst-style` exact <style>; the body names the style too, but Istio
 *   routes on headers only, so callers in the cluster send it as metadata):
 *   2. sticky canary: header `x-nst-bucket` (set by the Envoy Lua filter from `x-nst-client-id`,
 *      FNV-1a 32 mod 100, see ../router/bucket.ts) matching 0..weight-1 -> the canary subset;
 *   3. any other bucket (a caller with a client id outside the canary's buckets) -> stable;
 *   4. no client id: weighted stable / canary per call.
 *   A route that picks a version also sets `x-nst-version` on the request, so the pod serves
 *   exactly the version Istio chose whatever its own state. Styles without a canary route to
 *   their stable subset; calls without `x-nst-style` go to the Service's pods unpinned.
 *
 * gRPC calls are balanced per request only when the Service port is named `grpc` (or carries
 * appProtocol: grpc); the k8s manifests do that.
 */
import type { IDestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import type { RolloutRecord, RolloutState } from '../rollout/schema';

export const VERSION_LABEL = 'nst.dev/version';
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

export const subsetName = (version: string): string => `v${version}`;

/** An RE2 regex matching exactly the decimal buckets 0..weight-1. */
export function bucketRegex(weight: number): string {
  const buckets = Array.from({ length: Math.max(0, Math.min(100, weight)) }, (_, i) => String(i));
  return `^(${buckets.join('|')})$`;
}

const byStyle = (a: RolloutRecord, b: RolloutRecord): number => (a.style < b.style ? -1 : a.style > b.style ? 1 : 0);

export function renderIstioRouting(rollouts: RolloutState | readonly RolloutRecord[], options: IstioRoutingOptions): IstioRouting {
  const records = [...(Array.isArray(rollouts) ? rollouts : Object.values((rollouts as RolloutState).rollouts))].sort(byStyle);
  const host = `${options.service}.${options.namespace}.svc.cluster.local`;
  const port = options.port ?? 50051;
  const name = options.name ?? `${options.service}-releases`;
  const metadata = { name, namespace: options.namespace, ...(options.labels ? { labels: { ...options.labels } } : {}) };

  const versions = new Set<string>();
  for (const record of records) {
    versions.add(record.stableVersion);
    if (record.phase === 'canary' && record.canaryVersion !== undefined) versions.add(record.canaryVersion);
  }
  const ordered = [...versions].sort((a, b) => Number(a) - Number(b));

  const destination = (version: string, weight?: number) => ({
    destination: { host, subset: subsetName(version), port: { number: port } },
    ...(weight !== undefined ? { weight } : {}),
    headers: { request: { set: { [VERSION_HEADER]: version } } },
  });

  const http: HttpRoute[] = ordered.map((version) => ({
    name: `pin-v${version}`,
    match: [{ headers: { [VERSION_HEADER]: { exact: version } } }],
    route: [{ destination: { host, subset: subsetName(version), port: { number: port } } }],
  }));

  for (const record of records) {
    const style = { [STYLE_HEADER]: { exact: record.style } };
    const canary = record.phase === 'canary' && record.canaryVersion !== undefined && record.canaryWeight > 0 ? record.canaryVersion : undefined;
    if (canary === undefined) {
      http.push({ name: `${record.style}-stable`, match: [{ headers: style }], route: [destination(record.stableVersion)] });
      continue;
    }
    const weight = record.canaryWeight;
    if (weight >= 100) {
      http.push({ name: `${record.style}-canary`, match: [{ headers: style }], route: [destination(canary)] });
      continue;
    }
    http.push(
      {
        name: `${record.style}-sticky-canary`,
        match: [{ headers: { ...style, [BUCKET_HEADER]: { regex: bucketRegex(weight) } } }],
        route: [destination(canary)],
      },
      {
        name: `${record.style}-sticky-stable`,
        match: [{ headers: { ...style, [BUCKET_HEADER]: { regex: '^[0-9]+$' } } }],
        route: [destination(record.stableVersion)],
      },
      {
        name: `${record.style}-weighted`,
        match: [{ headers: style }],
        route: [destination(record.stableVersion, 100 - weight), destination(canary, weight)],
      },
    );
  }
  http.push({ name: 'unrouted', route: [{ destination: { host, port: { number: port } } }] });

  return {
    destinationRule: {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata,
      spec: { host, subsets: ordered.map((version) => ({ name: subsetName(version), labels: { [VERSION_LABEL]: version } })) },
    },
    virtualService: {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata,
      spec: { hosts: [host], gateways: ['mesh', ...(options.gateways ?? [])], http },
    },
  };
}

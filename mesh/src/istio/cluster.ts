/**
 * Cluster mode (NST_RELEASE_MODE=cluster): after every change of the rollout state,
 * ReleaseService applies the Istio routing rendered from it (render.ts) to Kubernetes with
 * server-side apply through @kubernetes/client-node, as field manager `nst-release`.
 *
 * Make before break: a VirtualService must never name a subset the DestinationRule lacks (Istio
 * answers such calls 503), so the DestinationRule is first applied with the subsets of both the
 * previous and the new state, then the VirtualService, then the DestinationRule with only the
 * new subsets. The in-process weighted router keeps working either way: StyleService pods
 * honour the `x-nst-version` header each route sets.
 */
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { RolloutState } from '../rollout/schema';
import { renderIstioRouting, type IstioRoutingOptions } from './render';

export const FIELD_MANAGER = 'nst-release';
const GROUP = 'networking.istio.io';
const VERSION = 'v1';

export interface IstioApplierOptions {
  routing: IstioRoutingOptions;
  /** Where the API server is; default: in-cluster service account or ~/.kube/config. */
  kubeConfig?: KubeConfig;
}

export type IstioApplier = (state: RolloutState) => Promise<void>;

export function istioApplier(options: IstioApplierOptions): IstioApplier {
  const kubeConfig =
    options.kubeConfig ??
    (() => {
      const config = new KubeConfig();
      config.loadFromDefault();
      return config;
    })();
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const apply = (plural: string, body: { metadata?: { name?: string; namespace?: string }; spec?: unknown }) =>
    api.patchNamespacedCustomObject(
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
  let applied: RolloutState | undefined;

  return async (state) => {
    const next = renderIstioRouting(state, options.routing);
    const previousSubsets = applied ? (renderIstioRouting(applied, options.routing).destinationRule.spec?.subsets ?? []) : [];
    const nextSubsets = next.destinationRule.spec?.subsets ?? [];
    const union = [...nextSubsets, ...previousSubsets.filter((old) => !nextSubsets.some((s) => s.name === old.name))].sort(
      (a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)),
    );
    if (union.length > nextSubsets.length) {
      await apply('destinationrules', { ...next.destinationRule, spec: { ...next.destinationRule.spec, subsets: union } });
    } else {
      await apply('destinationrules', next.destinationRule);
    }
    await apply('virtualservices', next.virtualService);
    if (union.length > nextSubsets.length) await apply('destinationrules', next.destinationRule);
    applied = structuredClone(state);
  };
}

/**
 * The generated files of the kustomize tree equal a fresh render: the Envoy config is the
 * gateway's byte for byte, and the Istio routing is what @nst/mesh renders from the initial
 * rollout state. Run `npm run -w @nst/k8s render` after changing either source.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ENVOY_COPY, ENVOY_SOURCE, initialRollouts, latestStarterVersions, renderGeneratedFiles, renderRoutingYaml, REPO_DIR, ROUTING_FILE, starterStyleIds } from './render';

describe('generated kustomize files', () => {
  it('are committed exactly as a fresh render writes them (no drift)', async () => {
    for (const [path, content] of await renderGeneratedFiles()) {
      const committed = await readFile(path, 'utf8').catch(() => '(missing)');
      expect(committed, `${relative(REPO_DIR, path)} differs from a fresh render: run npm run -w @nst/k8s render`).toBe(content);
    }
  });

  it('the Envoy ConfigMap source is an identical copy of gateway/envoy/envoy.yaml', async () => {
    expect(await readFile(ENVOY_COPY)).toEqual(await readFile(ENVOY_SOURCE));
  });

  it('routes every starter style to its newest version on the stable track, with no canary', async () => {
    const styles = await starterStyleIds();
    const latest = await latestStarterVersions();
    expect(latest['elephants']).toBe('2'); // a retrained starter is served, not its first version
    expect(styles.length).toBeGreaterThan(0);
    const [rule, service] = parseAllDocuments(await readFile(ROUTING_FILE, 'utf8')).map((d) => d.toJS());
    expect(rule.spec.subsets).toEqual([
      { name: 'stable', labels: { 'nst.dev/track': 'stable' } },
      { name: 'canary', labels: { 'nst.dev/track': 'canary' } },
    ]);
    const routes: { name: string; route: { destination: { subset: string }; headers?: { request: { set: Record<string, string> } } }[] }[] = service.spec.http;
    expect(routes.map((r) => r.name)).toEqual(['pinned', ...styles.map((s) => `${s}-stable`), 'unrouted']);
    for (const route of routes) {
      expect(route.route.map((r) => r.destination.subset), route.name).toEqual(['stable']);
      if (route.name.endsWith('-stable')) expect(route.route[0]!.headers?.request.set, route.name).toEqual({ 'x-nst-version': latest[route.name.replace(/-stable$/, '')] });
    }
  });

  it('the drift check can fail: a canary in the state changes the render', () => {
    const [first, ...rest] = initialRollouts(['elephants', 'swirl']);
    const canary = { ...first!, phase: 'canary' as const, canaryVersion: '2', canaryWeight: 10 };
    expect(renderRoutingYaml([canary, ...rest])).not.toBe(renderRoutingYaml(initialRollouts(['elephants', 'swirl'])));
    expect(renderRoutingYaml([canary, ...rest])).toContain('elephants-sticky-canary');
  });
});

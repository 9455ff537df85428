/**
 * The generated files of the kustomize tree equal a fresh render: the Envoy config is the
 * gateway's but for the proxies it trusts in front, and the Istio routing is what @nst/mesh renders from the initial
 * rollout state. Run `npm run -w @nst/k8s render` after changing either source.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ENVOY_COPY, ENVOY_SOURCE, initialRollouts, latestStarterVersions, renderGeneratedFiles, renderRoutingYaml, REPO_DIR, ROUTING_FILE, starterStyleIds } from './render';

describe('generated kustomize files', () => {
  it('are committed exactly as a fresh render writes them (no drift)', async () => {
    for (const [path, content] of await renderGeneratedFiles()) {
      const committed = await readFile(path, 'utf8').catch(() => '(missing)');
      expect(committed, `${relative(REPO_DIR, path)} differs from a fresh render: run npm run -w @nst/k8s render`).toBe(content);
    }
  });

  it("the Envoy ConfigMap source is gateway/envoy/envoy.yaml but for the one hop it trusts (Istio's ingress gateway)", async () => {
    const copy = parse(await readFile(ENVOY_COPY, 'utf8')) as Record<string, unknown>;
    const source = parse(await readFile(ENVOY_SOURCE, 'utf8')) as Record<string, unknown>;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Envoy's schema is not typed here
    const hcm = (config: any) => config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(hcm(source).xff_num_trusted_hops).toBe(0);
    expect(hcm(copy).xff_num_trusted_hops).toBe(1);
    hcm(copy).xff_num_trusted_hops = 0;
    expect(copy).toEqual(source);
  });

  it('routes every starter style to its newest version on the stable track, with no canary', async () => {
    const styles = await starterStyleIds();
    const latest = await latestStarterVersions();
    // A retrained starter is served at its newest version, read here straight from the folder.
    const elephantVersions = (await readdir(join(REPO_DIR, 'trainer/starter-styles/elephants/versions'))).map(Number);
    expect(Math.max(...elephantVersions)).toBeGreaterThan(1);
    expect(latest['elephants']).toBe(String(Math.max(...elephantVersions)));
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

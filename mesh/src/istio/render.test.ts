import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { describe, expect, it } from 'vitest';
import { bucketOf, routeArm } from '@nst/runtime/routing';
import type { RolloutRecord } from '../rollout/schema';
import { bucketRegex, heldAtStable, renderIstioRouting, routesToCanary } from './render';

const at = '2026-01-10T12:00:00.000Z';
const base = { rolloutId: 'r1', ladder: [10, 25, 50, 100], updatedAt: at, weightChangedAt: at };
const mosaic: RolloutRecord = { ...base, style: 'mosaic', phase: 'canary', stableVersion: '1', canaryVersion: '2', canaryWeight: 25 };
const swirl: RolloutRecord = { ...base, style: 'swirl', phase: 'stable', stableVersion: '3', canaryWeight: 0 };
const options = { namespace: 'nst', service: 'style', port: 50051 };

describe('renderIstioRouting', () => {
  it('renders objects that validate against the Istio schemas', () => {
    const { virtualService, destinationRule } = renderIstioRouting([mosaic, swirl], options);
    expect(() => new VirtualService(virtualService).validate()).not.toThrow();
    expect(() => new DestinationRule(destinationRule).validate()).not.toThrow();
  });

  it('the schema check can fail: a route weight as text is refused', () => {
    const { virtualService } = renderIstioRouting([mosaic], options);
    const broken = structuredClone(virtualService) as { spec: { http: { route: { weight?: unknown }[] }[] } };
    broken.spec.http.at(-2)!.route[0]!.weight = 'ninety';
    expect(() => new VirtualService(broken as never).validate()).toThrow();
  });

  it('names one subset per release track, selecting the track label, whether or not a canary runs', () => {
    const tracks = [
      { name: 'stable', labels: { 'nst.dev/track': 'stable' } },
      { name: 'canary', labels: { 'nst.dev/track': 'canary' } },
    ];
    const { destinationRule } = renderIstioRouting({ format: 1, rollouts: { mosaic, swirl } }, options);
    expect(destinationRule.spec?.host).toBe('style.nst.svc.cluster.local');
    expect(destinationRule.spec?.subsets).toEqual(tracks);
    expect(renderIstioRouting([swirl], options).destinationRule.spec?.subsets).toEqual(tracks);
  });

  it('never routes to a subset the DestinationRule lacks', () => {
    for (const records of [[mosaic, swirl], [swirl], [{ ...mosaic, canaryWeight: 100 }], [{ ...mosaic, canaryWeight: 0 }], []]) {
      const { virtualService, destinationRule } = renderIstioRouting(records, options);
      const subsets = new Set(destinationRule.spec?.subsets?.map((s) => s.name));
      for (const route of virtualService.spec?.http ?? []) {
        for (const { destination } of route.route ?? []) expect(subsets.has(destination.subset ?? ''), `${route.name} -> ${destination.subset}`).toBe(true);
      }
    }
  });

  it('orders routes: the pin, then per style sticky canary, sticky stable, weighted; styles without a canary go to stable', () => {
    const http = renderIstioRouting([swirl, mosaic], options).virtualService.spec?.http ?? [];
    expect(http.map((route) => route.name)).toEqual(['pinned', 'mosaic-sticky-canary', 'mosaic-sticky-stable', 'mosaic-weighted', 'swirl-stable', 'unrouted']);
    // A call that names its version goes to any stable pod with the header untouched.
    expect(http[0]?.match).toEqual([{ headers: { 'x-nst-version': { regex: '^.+$' } } }]);
    expect(http[0]?.route).toEqual([{ destination: { host: 'style.nst.svc.cluster.local', subset: 'stable', port: { number: 50051 } } }]);
    expect(http[1]?.match?.[0]?.headers).toEqual({ 'x-nst-style': { exact: 'mosaic' }, 'x-nst-bucket': { regex: bucketRegex(25) } });
    const picked = (i: number) => (http[i]?.route ?? []).map((r) => [r.destination.subset, r.weight, r.headers?.request?.set]);
    expect(picked(1)).toEqual([['canary', undefined, { 'x-nst-version': '2' }]]);
    expect(picked(2)).toEqual([['stable', undefined, { 'x-nst-version': '1' }]]);
    expect(picked(3)).toEqual([
      ['stable', 75, { 'x-nst-version': '1' }],
      ['canary', 25, { 'x-nst-version': '2' }],
    ]);
    expect(picked(4)).toEqual([['stable', undefined, { 'x-nst-version': '3' }]]);
    expect(picked(5)).toEqual([['stable', undefined, undefined]]);
  });

  it('the same version number of two styles is two models: each route sets its own style\'s version', () => {
    const hatch: RolloutRecord = { ...base, style: 'hatch', phase: 'stable', stableVersion: '2', canaryWeight: 0 };
    const http = renderIstioRouting([mosaic, hatch], options).virtualService.spec?.http ?? [];
    const hatchRoute = http.find((r) => r.name === 'hatch-stable')?.route?.[0];
    expect([hatchRoute?.destination.subset, hatchRoute?.headers?.request?.set]).toEqual(['stable', { 'x-nst-version': '2' }]);
    const mosaicCanary = http.find((r) => r.name === 'mosaic-sticky-canary')?.route?.[0];
    expect([mosaicCanary?.destination.subset, mosaicCanary?.headers?.request?.set]).toEqual(['canary', { 'x-nst-version': '2' }]);
  });

  it('sends exactly the buckets the local router sends to the canary', () => {
    for (const weight of [1, 10, 25, 50, 99]) {
      const regex = new RegExp(bucketRegex(weight));
      for (let bucket = 0; bucket < 100; bucket++) expect(regex.test(String(bucket))).toBe(bucket < weight);
      for (const client of ['alice', 'bob', 'client-17', 'ünïcödé']) {
        const local = routeArm({ ...mosaic, canaryWeight: weight }, client);
        expect(regex.test(String(bucketOf(client)))).toBe(local === 'canary');
      }
    }
  });

  it('sends every call of a style to the canary at 100%, and none to a canary at 0%', () => {
    const full = renderIstioRouting([{ ...mosaic, canaryWeight: 100 }], options).virtualService.spec?.http ?? [];
    const all = full.find((r) => r.name === 'mosaic-canary')?.route ?? [];
    expect(all.map((r) => [r.destination.subset, r.headers?.request?.set])).toEqual([['canary', { 'x-nst-version': '2' }]]);
    const none = renderIstioRouting([{ ...mosaic, canaryWeight: 0 }], options).virtualService.spec?.http ?? [];
    expect(none.some((r) => r.route?.some((d) => d.destination.subset === 'canary'))).toBe(false);
    expect(none.find((r) => r.name === 'mosaic-stable')?.route?.[0]?.headers?.request?.set).toEqual({ 'x-nst-version': '1' });
  });

  it('held at stable: every style, a live canary\'s at 100% included, routes to the stable subset with its stable version; the records are untouched', () => {
    const full: RolloutRecord = { ...base, style: 'hatch', phase: 'canary', stableVersion: '4', canaryVersion: '5', canaryWeight: 100 };
    const records = [mosaic, swirl, full];
    const before = structuredClone(records);
    const held = heldAtStable(records);
    expect(routesToCanary(held)).toBe(false);
    const http = renderIstioRouting(held, options).virtualService.spec?.http ?? [];
    expect(http.map((r) => r.name)).toEqual(['pinned', 'hatch-stable', 'mosaic-stable', 'swirl-stable', 'unrouted']);
    const picked = (name: string) => http.find((r) => r.name === name)?.route?.map((d) => [d.destination.subset, d.headers?.request?.set]);
    expect(picked('mosaic-stable')).toEqual([['stable', { 'x-nst-version': '1' }]]);
    expect(picked('hatch-stable')).toEqual([['stable', { 'x-nst-version': '4' }]]);
    expect(picked('swirl-stable')).toEqual([['stable', { 'x-nst-version': '3' }]]);
    expect(records).toEqual(before);
    expect(held.map((r) => [r.style, r.phase, r.canaryVersion])).toEqual([['mosaic', 'canary', '2'], ['swirl', 'stable', undefined], ['hatch', 'canary', '5']]);
  });

  it('says whether any route sends calls to the canary track', () => {
    expect(routesToCanary([mosaic, swirl])).toBe(true);
    expect(routesToCanary({ format: 1, rollouts: { swirl } })).toBe(false);
    expect(routesToCanary([{ ...mosaic, canaryWeight: 0 }])).toBe(false);
  });
});

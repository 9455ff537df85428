import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../router/bucket';
import { routeArm } from '../router/rollout-router';
import type { RolloutRecord } from '../rollout/schema';
import { bucketRegex, renderIstioRouting } from './render';

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

  it('names one subset per version in use, selecting the version label', () => {
    const { destinationRule } = renderIstioRouting({ format: 1, rollouts: { mosaic, swirl } }, options);
    expect(destinationRule.spec?.host).toBe('style.nst.svc.cluster.local');
    expect(destinationRule.spec?.subsets).toEqual([
      { name: 'v1', labels: { 'nst.dev/version': '1' } },
      { name: 'v2', labels: { 'nst.dev/version': '2' } },
      { name: 'v3', labels: { 'nst.dev/version': '3' } },
    ]);
  });

  it('orders routes: pins, then per style sticky canary, sticky stable, weighted; styles without a canary go to stable', () => {
    const http = renderIstioRouting([swirl, mosaic], options).virtualService.spec?.http ?? [];
    expect(http.map((route) => route.name)).toEqual([
      'pin-v1',
      'pin-v2',
      'pin-v3',
      'mosaic-sticky-canary',
      'mosaic-sticky-stable',
      'mosaic-weighted',
      'swirl-stable',
      'unrouted',
    ]);
    expect(http[1]?.match?.[0]?.headers).toEqual({ 'x-nst-version': { exact: '2' } });
    expect(http[1]?.route?.[0]?.destination.subset).toBe('v2');
    const weighted = http[5]?.route ?? [];
    expect(weighted.map((r) => [r.destination.subset, r.weight, r.headers?.request?.set])).toEqual([
      ['v1', 75, { 'x-nst-version': '1' }],
      ['v2', 25, { 'x-nst-version': '2' }],
    ]);
    expect(http[3]?.match?.[0]?.headers).toEqual({ 'x-nst-style': { exact: 'mosaic' }, 'x-nst-bucket': { regex: bucketRegex(25) } });
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
    expect(full.find((r) => r.name === 'mosaic-canary')?.route?.[0]?.destination.subset).toBe('v2');
    const none = renderIstioRouting([{ ...mosaic, canaryWeight: 0 }], options).virtualService.spec?.http ?? [];
    expect(none.find((r) => r.name === 'mosaic-stable')?.route?.[0]?.destination.subset).toBe('v1');
  });
});

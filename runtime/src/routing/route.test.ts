import { describe, expect, it } from 'vitest';
import { bucketOf } from './bucket';
import { routeArm, routeVersion, type RoutingRollout } from './route';

const canary = (weight: number): RoutingRollout => ({ style: 'mosaic', phase: 'canary', stableVersion: '1', canaryVersion: '2', canaryWeight: weight });

describe('routeArm', () => {
  it('is sticky per client id and monotone in the weight', () => {
    const clients = Array.from({ length: 500 }, (_, i) => `c${i}`);
    let previous = new Set<string>();
    for (const weight of [0, 10, 25, 50, 99, 100]) {
      const onCanary = new Set(clients.filter((c) => routeArm(canary(weight), c) === 'canary'));
      for (const client of previous) expect(onCanary.has(client)).toBe(true);
      for (const client of clients) expect(onCanary.has(client)).toBe(weight === 100 || bucketOf(client) < weight);
      previous = onCanary;
    }
  });

  it('splits callers without a client id per call by weight', () => {
    expect(routeArm(canary(25), '', () => 0.2499)).toBe('canary');
    expect(routeArm(canary(25), '', () => 0.25)).toBe('stable');
    expect(routeArm({ ...canary(25), phase: 'rolled_back', canaryVersion: undefined }, '', () => 0)).toBe('stable');
  });

  it('serves the stable version outside a canary and the canary version on its side', () => {
    expect(routeVersion({ style: 'mosaic', phase: 'promoted', stableVersion: '2', canaryWeight: 0 }, 'a')).toBe('2');
    expect(routeVersion(canary(100), 'a')).toBe('2');
    expect(routeVersion(canary(0), 'a')).toBe('1');
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROLLOUTS_FILE, RolloutStore } from '../rollout/rollout-store';
import type { RolloutRecord } from '../rollout/schema';
import { bucketOf } from './bucket';
import { RolloutRouter, routeArm, type RouteRequest } from './rollout-router';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-router-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const at = '2026-01-10T12:00:00.000Z';
const canary = (weight: number): RolloutRecord => ({
  style: 'mosaic',
  rolloutId: 'r1',
  phase: 'canary',
  stableVersion: '1',
  canaryVersion: '2',
  canaryWeight: weight,
  ladder: [10, 25, 50, 100],
  updatedAt: at,
  weightChangedAt: at,
});

/** The fallback StyleService passes: pinned else latest ('3'), NOT_FOUND-like for unknown. */
const latest = {
  resolve: async (request: RouteRequest) => {
    if (request.style !== 'mosaic') throw new Error(`style '${request.style}' does not exist`);
    if (request.pinnedVersion && !['1', '2', '3'].includes(request.pinnedVersion)) throw new Error('no such version');
    return request.pinnedVersion ?? '3';
  },
};

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
});

describe('RolloutRouter over rollouts.json', () => {
  it('serves the latest version when there is no rollout state (StyleService without ReleaseService)', async () => {
    const router = new RolloutRouter(new RolloutStore(dir), latest);
    expect(await router.resolve({ style: 'mosaic', clientId: 'a' })).toBe('3');
  });

  it('lets a pin win, serves stable without a canary, and picks up a changed file', async () => {
    const store = new RolloutStore(dir, { checkIntervalMs: 0 });
    const router = new RolloutRouter(new RolloutStore(dir, { checkIntervalMs: 0 }), latest);
    await store.write({ format: 1, rollouts: { mosaic: { ...canary(0), phase: 'stable', canaryVersion: undefined } } });
    expect(await router.resolve({ style: 'mosaic', clientId: 'a' })).toBe('1');
    expect(await router.resolve({ style: 'mosaic', clientId: 'a', pinnedVersion: '3' })).toBe('3');
    await expect(router.resolve({ style: 'mosaic', clientId: 'a', pinnedVersion: '9' })).rejects.toThrow(/no such version/);
    await store.write({ format: 1, rollouts: { mosaic: canary(100) } });
    expect(await router.resolve({ style: 'mosaic', clientId: 'a' })).toBe('2');
    expect(await router.resolve({ style: 'mosaic', clientId: 'a', pinnedVersion: '1' })).toBe('1');
  });

  it('keeps serving the last good state when the file is damaged, and says so', async () => {
    const store = new RolloutStore(dir, { checkIntervalMs: 0 });
    await store.write({ format: 1, rollouts: { mosaic: canary(100) } });
    const errors: unknown[] = [];
    const router = new RolloutRouter(new RolloutStore(dir, { checkIntervalMs: 0 }), latest, { onStateError: (e) => errors.push(e) });
    expect(await router.resolve({ style: 'mosaic', clientId: 'a' })).toBe('2');
    await writeFile(join(dir, ROLLOUTS_FILE), '{"format": 1, "rollouts": {"mosaic": {"style": 7}}}');
    expect(await router.resolve({ style: 'mosaic', clientId: 'a' })).toBe('2');
    expect(String(errors[0])).toMatch(/does not hold valid rollout state/);
  });

  it('routes 2,000 callers without a client id within 3 points of the weight', async () => {
    const store = new RolloutStore(dir);
    await store.write({ format: 1, rollouts: { mosaic: canary(10) } });
    const router = new RolloutRouter(new RolloutStore(dir), latest);
    let onCanary = 0;
    for (let i = 0; i < 2000; i++) if ((await router.resolve({ style: 'mosaic', clientId: '' })) === '2') onCanary++;
    expect(Math.abs(onCanary / 2000 - 0.1)).toBeLessThan(0.03);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DecisionLog } from './decision-log';
import { ReleaseController } from './release-controller';
import { RolloutStore } from './rollout-store';

let dir: string;
let decisions: DecisionLog;
const styles: { id: string; versions: number[] }[] = [];
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-controller-'));
  decisions = await DecisionLog.open(dir);
  styles.length = 0;
});
afterEach(async () => {
  await decisions.close();
  await rm(dir, { recursive: true, force: true });
});

const controller = () =>
  new ReleaseController({ store: new RolloutStore(dir, { checkIntervalMs: 0 }), decisions, registry: { listStyles: async () => styles }, ladder: [10, 50, 100], logger: quiet });

describe('ReleaseController and new versions', () => {
  it('without auto-release makes a new style\'s first version stable and leaves later versions unreleased', async () => {
    const releases = controller();
    styles.push({ id: 'ink', versions: [1] });
    await releases.onVersionRegistered('ink', 1, false);
    styles[0]!.versions.push(2);
    await releases.onVersionRegistered('ink', 2, false);
    expect(await releases.get('ink')).toMatchObject({ phase: 'stable', stableVersion: '1' });
    expect(await decisions.list()).toEqual([]);
  });

  it('with auto-release ignores versions older than the running canary, and replaces it with a newer one', async () => {
    const releases = controller();
    styles.push({ id: 'ink', versions: [1, 2, 3, 4] });
    await releases.init();
    expect(await releases.get('ink')).toMatchObject({ stableVersion: '4' });
    styles[0]!.versions.push(5, 6, 7);
    await releases.onVersionRegistered('ink', 6);
    await releases.onVersionRegistered('ink', 5);
    expect(await releases.get('ink')).toMatchObject({ phase: 'canary', canaryVersion: '6', canaryWeight: 10 });
    await releases.onVersionRegistered('ink', 7);
    expect(await releases.get('ink')).toMatchObject({ phase: 'canary', canaryVersion: '7' });
    expect((await decisions.list()).map((d) => [d.action, d.canaryVersion, d.actor])).toEqual([
      ['start', '7', 'auto-release'],
      ['rollback', '6', 'auto-release'],
      ['start', '6', 'auto-release'],
    ]);
  });

  it('drops an analysis verdict taken on a rollout that changed meanwhile', async () => {
    const releases = controller();
    styles.push({ id: 'ink', versions: [1, 2] });
    await releases.init();
    const seen = await releases.startCanary('ink', '1', 0, { actor: 'admin' });
    await releases.setWeight('ink', 30, { actor: 'admin' });
    const dropped = await releases.applyVerdict(seen, { action: 'rollback', weightAfter: 0, reason: 'stale', checks: [] }, '');
    expect(dropped).toBeUndefined();
    expect(await releases.get('ink')).toMatchObject({ phase: 'canary', canaryWeight: 30 });
  });
});

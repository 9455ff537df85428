import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { credentials, status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { DecisionAction, ReleaseServiceClient, RolloutPhase, CheckResult, type WatchRolloutsResponse } from '@nst/proto';
import {
  JsonlFeedbackStore,
  JsonlStylizeEventStore,
  createLogger,
  type ModelRegistry,
  platformMetrics,
  waitForServing,
  type FeedbackRecord,
} from '@nst/runtime';
import { newStyle, newVersion } from '@nst/runtime/testing';
import { admin as adminMetadata, call, refused, until } from '@nst/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchReleaseService, RolloutStore, type RunningReleaseService } from '@nst/mesh';
import { startTrainer, type TrainerFixture } from '@nst/trainer/testing';

const TOKEN = 'release-test-token';
const buf = fileURLToPath(new URL('../../../node_modules/.bin/buf', import.meta.url));
let dir: string;
let registry: ModelRegistry;
// TrainerService owns the registry; ReleaseService learns of versions from its WatchVersions stream.
let trainer: TrainerFixture;
let feedback: JsonlFeedbackStore;
let events: JsonlStylizeEventStore;
let service: RunningReleaseService;
let client: ReleaseServiceClient;

const admin = (token = TOKEN): Metadata => adminMetadata(token);
const register = (style: string) => registry.registerVersion(style, newVersion(new Uint8Array([1, 2, 3]), new Uint8Array([4])));

/** ReleaseService follows the test's TrainerService, with a short heartbeat and backoff. */
const viaTrainer = () => ({ trainerAddr: trainer.address, catalogueWatch: { heartbeatSeconds: 1, backoff: { initialMs: 50, maxMs: 300 } } });

/** Analysis settings small enough for a test to reach every decision. */
const ANALYSIS = { ladder: [10, 50, 100], minRatings: 10, minCalls: 5, alpha: 0.05, errorMargin: 0.02, latencyRatio: 3, minStepSeconds: 0 };

/** ReleaseService on a free port with its state in `<dir>/<releases>`, following the test's TrainerService; the analysis only runs when a test asks. */
const releaseOptions = (releases: string) => ({
  address: '127.0.0.1:0',
  releasesDir: join(dir, releases),
  ...viaTrainer(),
  feedback,
  events,
  adminToken: TOKEN,
  settings: ANALYSIS,
  analysisIntervalMs: 60 * 60 * 1000,
  autoRelease: true,
  logger: createLogger('release-test', { level: 'silent' }),
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-release-'));
  trainer = await startTrainer();
  registry = trainer.registry;
  for (const style of ['mosaic', 'swirl']) {
    await registry.createStyle(newStyle(style));
    await register(style);
  }
  await register('mosaic');
  feedback = await JsonlFeedbackStore.open(join(dir, 'feedback'));
  events = await JsonlStylizeEventStore.open(join(dir, 'events'));
  service = await launchReleaseService(releaseOptions('releases'));
  client = new ReleaseServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  client?.close();
  await service?.close();
  await feedback?.close();
  await events?.close();
  await trainer?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The nst_rollout_weight series of a style, as `v<version> <role> <share>`. */
async function rolloutWeights(style: string): Promise<string[]> {
  const { values } = await platformMetrics().rolloutWeight.get();
  return values
    .filter((v) => v.labels.style === style)
    .map((v) => `v${v.labels.version} ${v.labels.role} ${v.value}`)
    .sort();
}

describe('ReleaseService over gRPC', () => {
  it('serves health, and gives every style a rollout with its latest version as stable at start', async () => {
    await waitForServing(`127.0.0.1:${service.port}`, { service: 'nst.v1.ReleaseService', timeoutMs: 5000 });
    const { rollouts } = await call(client, client.listRollouts, {});
    expect(rollouts.map((r) => [r.style, r.phase, r.stableVersion, r.canaryWeight])).toEqual([
      ['mosaic', RolloutPhase.ROLLOUT_PHASE_STABLE, '2', 0],
      ['swirl', RolloutPhase.ROLLOUT_PHASE_STABLE, '1', 0],
    ]);
    expect(rollouts[0]?.ladder).toEqual([10, 50, 100]);
  });

  it('streams the routing state on WatchRollouts at once and after every change, with no statistics', async () => {
    const stream = client.watchRollouts({});
    const received: WatchRolloutsResponse[] = [];
    stream.on('data', (message: WatchRolloutsResponse) => received.push(message));
    stream.on('error', () => undefined);
    try {
      const first = await until('the first state', async () => received[0]);
      expect(first.rollouts.map((r) => [r.style, r.phase, r.stableVersion])).toEqual([
        ['mosaic', RolloutPhase.ROLLOUT_PHASE_STABLE, '2'],
        ['swirl', RolloutPhase.ROLLOUT_PHASE_STABLE, '1'],
      ]);
      expect(first.rollouts[0]?.stableStats).toBeUndefined();
      await call(client, client.startCanary, { style: 'mosaic', version: '1', initialWeight: 30 }, admin());
      const changed = await until('the changed state', async () => received.find((m) => m.rollouts[0]?.phase === RolloutPhase.ROLLOUT_PHASE_CANARY));
      expect(changed.rollouts[0]).toMatchObject({ style: 'mosaic', canaryVersion: '1', canaryWeight: 30, stableVersion: '2' });
      await call(client, client.rollback, { style: 'mosaic', reason: 'watch test' }, admin());
      await until('the rolled-back state', async () => received.find((m) => m.rollouts[0]?.phase === RolloutPhase.ROLLOUT_PHASE_ROLLED_BACK));
    } finally {
      stream.cancel();
    }
  });

  it('answers an independent client (buf curl) by server reflection alone, and refuses its mutation without the admin token', async () => {
    const target = (method: string) => `http://127.0.0.1:${service.port}${method ? `/${method}` : ''}`;
    const curl = (...args: string[]) => promisify(execFile)(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args]);
    const methods = (await curl('--list-methods', target(''))).stdout.trim().split('\n');
    expect(methods).toEqual(expect.arrayContaining(['nst.v1.ReleaseService/ListRollouts', 'nst.v1.ReleaseService/StartCanary', 'grpc.health.v1.Health/Check']));
    const got = JSON.parse((await curl('-d', '{"style":"swirl"}', target('nst.v1.ReleaseService/GetRollout'))).stdout) as { rollout: Record<string, unknown> };
    expect(got.rollout).toMatchObject({ style: 'swirl', phase: 'ROLLOUT_PHASE_STABLE', stableVersion: '1' });
    const denied = await curl('-d', '{"style":"swirl","weight":5}', target('nst.v1.ReleaseService/SetWeight')).catch((error: { stderr: string }) => error);
    expect((denied as { stderr: string }).stderr).toMatch(/unauthenticated/);
  });

  it('refuses mutations without the admin token, or with a wrong one', async () => {
    const request = { style: 'mosaic', version: '1', initialWeight: 0 };
    expect((await refused(call(client, client.startCanary, request, admin('')))).code).toBe(status.UNAUTHENTICATED);
    expect((await refused(call(client, client.startCanary, request, admin('wrong')))).code).toBe(status.PERMISSION_DENIED);
    expect((await refused(call(client, client.rollback, { style: 'mosaic', reason: '' }, admin('wrong')))).code).toBe(status.PERMISSION_DENIED);
  });

  it('answers bad requests with statuses a person can act on', async () => {
    const notFound = await refused(call(client, client.getRollout, { style: 'nope' }));
    expect(notFound.code).toBe(status.NOT_FOUND);
    expect(notFound.details).toMatch(/known styles: mosaic, swirl/);
    expect((await refused(call(client, client.startCanary, { style: 'mosaic', version: '9', initialWeight: 0 }, admin()))).code).toBe(status.NOT_FOUND);
    expect((await refused(call(client, client.startCanary, { style: 'mosaic', version: '1', initialWeight: 101 }, admin()))).code).toBe(status.INVALID_ARGUMENT);
    expect((await refused(call(client, client.startCanary, { style: 'mosaic', version: '2', initialWeight: 0 }, admin()))).code).toBe(status.FAILED_PRECONDITION);
    expect((await refused(call(client, client.promote, { style: 'mosaic', reason: '' }, admin()))).code).toBe(status.FAILED_PRECONDITION);
    expect((await refused(call(client, client.setWeight, { style: 'mosaic', weight: 20 }, admin()))).code).toBe(status.FAILED_PRECONDITION);
    expect((await refused(call(client, client.listDecisions, { style: '', limit: 5000 }))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('starts a canary at the first ladder step, sets its weight, refuses a second, and promotes it', async () => {
    const started = await call(client, client.startCanary, { style: 'swirl', version: '1', initialWeight: 0 }, admin()).catch((e: ServiceError) => e);
    expect((started as ServiceError).code).toBe(status.FAILED_PRECONDITION); // version 1 is swirl's stable
    await register('swirl'); // version 2; auto-release starts it
    const auto = await until('auto-release of swirl 2', async () => {
      const { rollout } = await call(client, client.getRollout, { style: 'swirl' });
      return rollout?.phase === RolloutPhase.ROLLOUT_PHASE_CANARY ? rollout : undefined;
    });
    expect([auto.canaryVersion, auto.canaryWeight]).toEqual(['2', 10]);
    expect(auto.lastDecision?.actor).toBe('auto-release');
    expect((await refused(call(client, client.startCanary, { style: 'swirl', version: '2', initialWeight: 30 }, admin()))).code).toBe(status.FAILED_PRECONDITION);
    expect((await refused(call(client, client.setWeight, { style: 'swirl', weight: 101 }, admin()))).code).toBe(status.INVALID_ARGUMENT);
    const set = await call(client, client.setWeight, { style: 'swirl', weight: 40 }, admin());
    expect(set.rollout?.canaryWeight).toBe(40);
    // Operator changes move the Prometheus split too, not only the analysis.
    expect(await rolloutWeights('swirl')).toEqual(['v1 stable 0.6', 'v2 canary 0.4']);
    // The router reads the same file.
    expect((await new RolloutStore(join(dir, 'releases')).get('swirl'))?.canaryWeight).toBe(40);
    const promoted = await call(client, client.promote, { style: 'swirl', reason: 'looks right' }, admin());
    expect([promoted.rollout?.phase, promoted.rollout?.stableVersion, promoted.rollout?.canaryVersion]).toEqual([
      RolloutPhase.ROLLOUT_PHASE_PROMOTED,
      '2',
      undefined,
    ]);
    const { decisions } = await call(client, client.listDecisions, { style: 'swirl', limit: 0 });
    expect(decisions.map((d) => [d.action, d.actor, d.weightBefore, d.weightAfter])).toEqual([
      [DecisionAction.DECISION_ACTION_PROMOTE, 'admin', 40, 0],
      [DecisionAction.DECISION_ACTION_SET_WEIGHT, 'admin', 10, 40],
      [DecisionAction.DECISION_ACTION_START, 'auto-release', 0, 10],
    ]);
    // The operator's words follow what was done, once.
    expect(decisions[0]?.reason).toBe('canary version 2 promoted to stable: looks right');
    expect(await rolloutWeights('swirl')).toEqual(['v2 stable 1']);
  });

  it('rolls a running canary back, with the reason, when a newer version is registered', async () => {
    await call(client, client.startCanary, { style: 'mosaic', version: '1', initialWeight: 20 }, admin());
    await register('mosaic'); // version 3
    const rollout = await until('canary of mosaic 3', async () => {
      const { rollout } = await call(client, client.getRollout, { style: 'mosaic' });
      return rollout?.canaryVersion === '3' ? rollout : undefined;
    });
    expect(rollout.canaryWeight).toBe(10);
    const { decisions } = await call(client, client.listDecisions, { style: 'mosaic', limit: 2 });
    expect(decisions.map((d) => d.action)).toEqual([DecisionAction.DECISION_ACTION_START, DecisionAction.DECISION_ACTION_ROLLBACK]);
    expect(decisions[1]?.reason).toMatch(/version 3 was registered and replaces canary 1/);
  });

  it('rolls a canary back on its analysis when it is rated worse, with the checks and their numbers', async () => {
    const { rollout } = await call(client, client.getRollout, { style: 'mosaic' });
    const since = Date.parse(rollout!.updatedAt!.toISOString());
    const at = new Date(since + 10).toISOString();
    let n = 0;
    const rate = (version: string, rating: 'good' | 'bad'): FeedbackRecord => ({
      id: `f${n++}`,
      requestId: `r${n}`,
      style: 'mosaic',
      version,
      rating,
      clientId: 'c',
      consent: false,
      createdAt: at,
    });
    for (let i = 0; i < 20; i++) await feedback.append(rate('2', i < 18 ? 'good' : 'bad'));
    for (let i = 0; i < 12; i++) await feedback.append(rate('3', i < 4 ? 'good' : 'bad'));
    for (let i = 0; i < 6; i++) {
      for (const version of ['2', '3']) {
        await events.append({ id: `e${n++}`, style: 'mosaic', version, code: 'OK', latencyMs: 100, startedAt: at, clientId: 'c' });
      }
    }
    const live = (await call(client, client.getRollout, { style: 'mosaic' })).rollout;
    expect([live?.stableStats?.goodRatings, live?.canaryStats?.badRatings, live?.canaryStats?.requests]).toEqual([18, 8, 6]);
    const [decision] = await service.analysis.runOnce();
    expect(decision?.action).toBe('rollback');
    const { decisions } = await call(client, client.listDecisions, { style: 'mosaic', limit: 1 });
    const approval = decisions[0]?.checks.find((c) => c.name === 'approval');
    expect(approval?.result).toBe(CheckResult.CHECK_RESULT_FAIL);
    expect(approval?.pValue).toBeLessThan(0.05);
    expect([approval?.stableSamples, approval?.canarySamples]).toEqual([20, 12]);
    expect(decisions[0]?.actor).toBe('analysis');
    const after = (await call(client, client.getRollout, { style: 'mosaic' })).rollout;
    expect([after?.phase, after?.stableVersion, after?.canaryWeight]).toEqual([RolloutPhase.ROLLOUT_PHASE_ROLLED_BACK, '2', 0]);
  });
});

describe('ReleaseService in cluster mode', () => {
  it('applies the state at start, applies a change without holding up the next one, re-applies every reconcile, and stops on close', async () => {
    const applied: string[] = [];
    let held: Promise<void> | undefined;
    let hanging = false;
    let release = () => undefined as void;
    const cluster = await launchReleaseService({
      ...releaseOptions('releases-cluster'),
      autoRelease: false,
      cluster: {
        apply: async (state) => {
          const mosaic = state.rollouts['mosaic'];
          applied.push(`${mosaic?.phase} ${mosaic?.canaryWeight}`);
          // Only a pass that started after the gate was set hangs on it.
          const gate = held;
          if (gate) {
            hanging = true;
            await gate;
          }
          return [];
        },
        reconcileMs: 50,
      },
      logger: createLogger('release-test', { level: 'silent' }),
    });
    try {
      await until('the apply at start', async () => (applied.length > 0 ? true : undefined));
      expect(applied[0]).toBe('stable 0');
      // The cluster takes its time (canary pods starting): rollout changes still go through.
      held = new Promise<void>((resolve) => (release = resolve));
      await until('a reconcile that hangs', async () => (hanging ? true : undefined));
      const context = { actor: 'admin' };
      await cluster.controller.startCanary('mosaic', '1', 10, context);
      await cluster.controller.setWeight('mosaic', 50, context);
      expect(applied.at(-1)).toBe('stable 0');
      release();
      held = undefined;
      await until('the newest state applied', async () => (applied.at(-1) === 'canary 50' ? true : undefined));
      // The reconcile keeps re-applying it.
      const seenSoFar = applied.length;
      await until('two more reconciles', async () => (applied.length >= seenSoFar + 2 ? true : undefined));
      expect(applied.slice(seenSoFar)).toEqual(expect.arrayContaining(['canary 50']));
      expect(applied).not.toContain('canary 10');
    } finally {
      // A failed expectation must not leave a pass hanging, or close() would wait for it.
      release();
      await cluster.close();
    }
    const closedAt = applied.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(applied.length).toBe(closedAt);
  }, 30_000);
});

describe('ReleaseService following TrainerService over WatchVersions', () => {
  const options = () => releaseOptions('releases-restart');

  it('starts the canary of a version registered while ReleaseService was down when it comes back, and never again once rolled back', async () => {
    await registry.createStyle(newStyle('hatch'));
    await register('hatch'); // version 1
    let restarted = await launchReleaseService(options());
    try {
      expect(await restarted.controller.get('hatch')).toMatchObject({ phase: 'stable', stableVersion: '1' });
    } finally {
      await restarted.close();
    }

    await register('hatch'); // version 2, while ReleaseService is down
    restarted = await launchReleaseService(options());
    try {
      expect(await restarted.controller.get('hatch')).toMatchObject({ phase: 'canary', stableVersion: '1', canaryVersion: '2', canaryWeight: 10 });
      const [start] = await restarted.decisions.list({ style: 'hatch', limit: 1 });
      expect(start).toMatchObject({ action: 'start', actor: 'auto-release' });
      expect(start?.reason).toMatch(/version 2 was registered/);
      await restarted.controller.rollback('hatch', { actor: 'admin', reason: 'not this one' });
    } finally {
      await restarted.close();
    }

    // What it acted on is recorded in its own folder: a restart does not canary version 2 again.
    restarted = await launchReleaseService(options());
    try {
      expect(await restarted.controller.get('hatch')).toMatchObject({ phase: 'rolled_back', stableVersion: '1' });
      // And a version registered while it runs still arrives through the stream.
      await register('hatch'); // version 3
      const record = await until('canary of hatch 3', async () => {
        const current = await restarted.controller.get('hatch');
        return current.canaryVersion === '3' ? current : undefined;
      });
      expect(record.phase).toBe('canary');
    } finally {
      await restarted.close();
    }
  }, 60_000);

  it('starts while TrainerService is down and picks the catalogue up once it is back', async () => {
    await trainer.service.close();
    const early = await launchReleaseService({ ...options(), releasesDir: join(dir, 'releases-early'), catalogueWatch: { ...viaTrainer().catalogueWatch, readyWaitMs: 200 } });
    try {
      expect(await early.controller.list()).toEqual([]);
      await trainer.restart();
      const rollouts = await until('rollouts from the catalogue', async () => {
        const list = await early.controller.list();
        return list.length > 0 ? list : undefined;
      });
      expect(rollouts.map((r) => r.style)).toEqual(['hatch', 'mosaic', 'swirl']);
    } finally {
      await early.close();
    }
  }, 30_000);
});

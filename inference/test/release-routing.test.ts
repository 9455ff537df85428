/**
 * StyleService with releases: versions are picked by the rollout state ReleaseService streams
 * (WatchRollouts, here from a stand-in ReleaseService on a real port that sends what each test
 * sets), routing carries on from the last state while ReleaseService is away and across a
 * StyleService restart, every call leaves one serving event, and feedback counts against the
 * version that served the request. system-tests/test/releases/canary-e2e.test.ts runs the real ReleaseService.
 */
import { connect, header, photoJpeg, registerTinyStyle, stylize, stylizeImage, submitFeedback, truncate, until } from '@nst/test-kit';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import { Rating, ReleaseServiceService, RolloutPhase, type Rollout, type StyleServiceClient, type WatchRolloutsRequest, type WatchRolloutsResponse } from '@nst/proto';
import { createLogger, JsonlFeedbackStore, JsonlStylizeEventStore, ModelRegistry, type StylizeEvent } from '@nst/runtime';
import { bucketOf } from '@nst/runtime/routing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStyleServer, type StartedStyleService, type StyleServerConfig } from '../src/server/style-server';

const STYLE = 'routed-wave';
let dir: string;
let service: StartedStyleService;
let client: StyleServiceClient;
let feedback: JsonlFeedbackStore;
let events: JsonlStylizeEventStore;
let registry: ModelRegistry;
let releasePort: number;
let release: FakeReleaseService;
let photo: Buffer;
const failingEvents: StylizeEvent[] = [];
let failAppends = false;

const canary = (weight: number): Rollout => ({
  style: STYLE,
  rolloutId: 'r1',
  phase: RolloutPhase.ROLLOUT_PHASE_CANARY,
  stableVersion: '1',
  canaryVersion: '2',
  canaryWeight: weight,
  ladder: [10, 25, 50, 100],
});
const stable = (version: string): Rollout => ({ style: STYLE, rolloutId: 'r1', phase: RolloutPhase.ROLLOUT_PHASE_STABLE, stableVersion: version, canaryWeight: 0, ladder: [100] });

/** ReleaseService's WatchRollouts as StyleService sees it: the current state now, then each change. */
class FakeReleaseService {
  private readonly server = new Server();
  private readonly watchers = new Set<ServerWritableStream<WatchRolloutsRequest, WatchRolloutsResponse>>();
  state: Rollout[] = [];

  static async start(port = 0): Promise<{ release: FakeReleaseService; port: number }> {
    const release = new FakeReleaseService();
    release.server.addService(ReleaseServiceService, {
      watchRollouts: (call: ServerWritableStream<WatchRolloutsRequest, WatchRolloutsResponse>) => {
        release.watchers.add(call);
        call.on('cancelled', () => release.watchers.delete(call));
        call.write({ rollouts: release.state, updatedAt: new Date() });
      },
    });
    const bound = await new Promise<number>((resolve, reject) =>
      release.server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    return { release, port: bound };
  }

  send(state: Rollout[]): void {
    this.state = state;
    for (const call of this.watchers) call.write({ rollouts: state, updatedAt: new Date() });
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const styleConfig = (): StyleServerConfig => ({
  styleAddr: '127.0.0.1:0',
  maxUploadBytes: 4_000_000,
  maxPixels: 4_000_000,
  chunkBytes: 64 * 1024,
  maxConcurrent: 2,
  queueLength: 8,
  tileSize: 256,
  tileOverlap: 16,
  inferenceThreads: 1,
  keptPhotosDir: join(dir, 'kept'),
  feedbackRetentionDays: 30,
  releaseAddr: `127.0.0.1:${releasePort}`,
  routingStateFile: join(dir, 'style', 'last-rollouts.json'),
});
/** Client ids on each side of a 50% canary. */
const ids = Array.from({ length: 200 }, (_, i) => `person-${i}`);
const canaryClient = ids.find((id) => bucketOf(id) < 50)!;
const stableClient = ids.find((id) => bucketOf(id) >= 50)!;

/** Sends a state and waits until StyleService has it. */
async function setState(record: Rollout): Promise<void> {
  const feed = service.rollouts!;
  let updated = false;
  const unsubscribe = feed.onUpdate(() => (updated = true));
  release.send([record]);
  await until('the rollout state to reach StyleService', () => updated || undefined);
  unsubscribe();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-routing-'));
  registry = await ModelRegistry.open(join(dir, 'registry'));
  await registerTinyStyle(registry, STYLE, [31, 32, 33]);
  feedback = await JsonlFeedbackStore.open(join(dir, 'feedback'));
  events = await JsonlStylizeEventStore.open(join(dir, 'events'));
  ({ release, port: releasePort } = await FakeReleaseService.start());
  service = await startStyleServer({
    config: styleConfig(),
    registry,
    feedbackStore: feedback,
    events: {
      append: (event) => {
        if (failAppends) {
          failingEvents.push(event);
          return Promise.reject(new Error('disk full'));
        }
        return events.append(event);
      },
    },
    logger: createLogger('routing-test', { level: 'silent' }),
  });
  client = connect(service.port);
  photo = await photoJpeg(48, 36);
}, 120_000);

afterAll(async () => {
  client?.close();
  await service?.close();
  release?.stop();
  await feedback?.close();
  await events?.close();
  await rm(dir, { recursive: true, force: true });
});

const servedVersion = async (clientId: string, metadata?: Metadata): Promise<string> => {
  const outcome = await stylizeImage(client, header(STYLE, { clientId }), photo, metadata ? { metadata } : {});
  if (outcome.error) throw outcome.error;
  expect(outcome.metadata?.get('x-nst-version')[0]).toBe(outcome.summary?.version);
  return outcome.summary!.version;
};

describe('StyleService routing by the rollout state', () => {
  it('serves the latest version without rollout state, then the stable one once a rollout exists', async () => {
    await until('the WatchRollouts stream', () => service.rollouts!.live || undefined);
    expect(await servedVersion('a')).toBe('3');
    await setState(stable('1'));
    expect(await servedVersion('a')).toBe('1');
  });

  it("loads a canary's model as soon as the rollout names it, before any call asks for it", async () => {
    // Versions 1 and 3 have served by now; version 2 has not.
    expect(service.models.keys()).not.toContain(`${STYLE}@2`);
    await setState(canary(10));
    await until('the canary model loaded ahead', () => service.models.keys().includes(`${STYLE}@2`) || undefined);
  });

  it('sends a client to the canary by its bucket, whether the id comes in the header or as x-nst-client-id metadata', async () => {
    await setState(canary(50));
    expect(await servedVersion(canaryClient)).toBe('2');
    expect(await servedVersion(stableClient)).toBe('1');
    const asMetadata = (id: string): Metadata => {
      const metadata = new Metadata();
      metadata.set('x-nst-client-id', id);
      return metadata;
    };
    expect(await servedVersion('', asMetadata(canaryClient))).toBe('2');
    expect(await servedVersion('', asMetadata(stableClient))).toBe('1');
    // The chunked Stylize call routes the same way.
    expect((await stylize(client, header(STYLE, { clientId: canaryClient }), photo)).summary?.version).toBe('2');
  });

  it('lets a pin win over the rollout (header or x-nst-version metadata), and refuses an unknown one', async () => {
    await setState(canary(100));
    const pin = new Metadata();
    pin.set('x-nst-version', '3');
    expect(await servedVersion(stableClient, pin)).toBe('3');
    expect((await stylizeImage(client, header(STYLE, { version: '1' }), photo)).summary?.version).toBe('1');
    const unknown = await stylizeImage(client, header(STYLE, { version: '7' }), photo);
    expect(unknown.error?.code).toBe(status.NOT_FOUND);
  });

  it('records one serving event per call with its version and gRPC status', async () => {
    await setState(canary(100));
    const before = await events.stats({ style: STYLE, version: '2' });
    expect((await stylizeImage(client, header(STYLE, { clientId: 'e1' }), photo)).summary?.version).toBe('2');
    const broken = await stylizeImage(client, header(STYLE, { clientId: 'e2' }), truncate(photo));
    expect(broken.error?.code).toBe(status.INVALID_ARGUMENT);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await events.stats({ style: STYLE, version: '2' });
    expect(after.requests - before.requests).toBe(2);
    expect((after.byCode['OK'] ?? 0) - (before.byCode['OK'] ?? 0)).toBe(1);
    expect((after.byCode['INVALID_ARGUMENT'] ?? 0) - (before.byCode['INVALID_ARGUMENT'] ?? 0)).toBe(1);
    expect(after.errors).toBe(before.errors); // a bad image is the caller's fault
  });

  it('never fails or slows a call because its event could not be recorded', async () => {
    failAppends = true;
    try {
      expect(await servedVersion('f1')).toBe('2');
      expect(failingEvents).toHaveLength(1);
    } finally {
      failAppends = false;
    }
  });

  it('counts feedback against the served version: fills it in from the request id, refuses a contradicting one', async () => {
    await setState(canary(50));
    const outcome = await stylizeImage(client, header(STYLE, { clientId: canaryClient }), photo);
    const requestId = outcome.summary!.requestId;
    expect(outcome.summary?.version).toBe('2');
    const wrong = await submitFeedback(client, { requestId, style: STYLE, version: '1', rating: Rating.RATING_GOOD }).catch((e: { code: number }) => e);
    expect((wrong as { code: number }).code).toBe(status.INVALID_ARGUMENT);
    const { feedbackId } = await submitFeedback(client, { requestId, rating: Rating.RATING_BAD });
    const stored = (await feedback.query({ style: STYLE })).find((r) => r.id === feedbackId);
    expect(stored).toMatchObject({ requestId, version: '2', rating: 'bad' });
  });

  it('routes by the last state while ReleaseService is away, also after a StyleService restart, and follows it again when it is back', async () => {
    await setState(canary(100));
    release.stop();
    await until('StyleService to notice ReleaseService went away', () => !service.rollouts!.live || undefined);
    expect(await servedVersion(stableClient)).toBe('2');

    // A second StyleService, started while ReleaseService is still down, routes by the saved state.
    const restarted = await startStyleServer({
      config: styleConfig(),
      registry,
      feedbackStore: feedback,
      logger: createLogger('routing-test', { level: 'silent' }),
    });
    const second = connect(restarted.port);
    try {
      const outcome = await stylizeImage(second, header(STYLE, { clientId: stableClient }), photo);
      expect(outcome.error).toBeUndefined();
      expect(outcome.summary?.version).toBe('2');
    } finally {
      second.close();
      await restarted.close();
    }

    // ReleaseService back on the same address: the feed reconnects (backoff up to 8 s) and routes by the new state.
    ({ release } = await FakeReleaseService.start(releasePort));
    release.state = [stable('3')];
    await until('the feed to reconnect', () => service.rollouts!.live || undefined);
    await until('the new state', () => (service.rollouts!.rollout(STYLE)?.stableVersion === '3') || undefined);
    expect(await servedVersion(canaryClient)).toBe('3');
  }, 30_000);
});

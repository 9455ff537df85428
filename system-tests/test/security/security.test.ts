/**
 * Security of the front door and the services behind it, on real servers: a StyleService
 * with real (tiny) exported networks, a TrainerService, and the gateway in front of both.
 * Admin calls without or with a wrong token, path-traversing style, version and job names,
 * uploads and pixel counts over the limits, foreign origins and per-client rate limits, on
 * gRPC and on gRPC-Web; every log line the three servers wrote is then searched for the
 * tokens and the image bytes.
 */
import { admin, ADMIN_TOKEN, bombPng, painting, photoJpeg, registerTinyStyle } from '@nst/test-kit';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  CancelJobRequest,
  CreateStyleFromImageRequest,
  FineTuneRequest,
  GetJobRequest,
  ListStylesRequest,
  ListVersionsRequest,
  OutputFormat,
  PromoteRequest,
  Rating,
  RollbackRequest,
  SetWeightRequest,
  StartCanaryRequest,
  GetRolloutRequest,
  StyleServiceClient,
  StylizeImageRequest,
  StylizeImageResponse,
  SubmitFeedbackRequest,
  WatchJobRequest,
} from '@nst/proto';
import { startStyleServer, type RunningStyleService } from '@nst/inference';
import { launchReleaseService, type RunningReleaseService } from '@nst/mesh';
import { createLogger, JsonlFeedbackStore, JsonlStylizeEventStore, loadStoreConfig, ModelRegistry } from '@nst/runtime';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '@nst/gateway';
import { callGrpcWeb, type GrpcWebReply } from '@nst/gateway/grpc-web';
import { startTrainer, type TrainerFixture } from '@nst/trainer/testing';

const ORIGIN = 'http://app.example.com';
const WRONG_TOKEN = 'wrong-token-5f2c9a71e0';
const STYLE = 'tiny-wave';
const MAX_UPLOAD = 256 * 1024;

/** Every log line of the three servers, as written. */
const logLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
const logger = (service: string) => createLogger(service, { level: 'debug', destination: logSink });

let dir: string;
let style: RunningStyleService;
let feedbackStore: JsonlFeedbackStore;
let trainer: TrainerFixture;
let release: RunningReleaseService;
let events: JsonlStylizeEventStore;
let gateway: RunningGateway;
let photo: Buffer;
let paintingBytes: Buffer;
let styleClient: StyleServiceClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-security-'));
  const base = loadStoreConfig({ NST_DATA_DIR: dir });
  const registry = await ModelRegistry.open(base.registryDir);
  await registerTinyStyle(registry, STYLE, [11]);
  feedbackStore = await JsonlFeedbackStore.open(base.feedbackDir);
  style = await startStyleServer({
    config: {
      styleAddr: '127.0.0.1:0',
      maxUploadBytes: MAX_UPLOAD,
      maxPixels: 1_000_000,
      chunkBytes: 64 * 1024,
      maxConcurrent: 1,
      queueLength: 4,
      tileSize: 256,
      tileOverlap: 32,
      inferenceThreads: 1,
      keptPhotosDir: join(dir, 'kept-photos'),
      feedbackRetentionDays: 30,
    },
    registry,
    feedbackStore,
    logger: logger('style-service'),
  });
  trainer = await startTrainer({ logger: logger('trainer') });
  events = await JsonlStylizeEventStore.open(join(dir, 'events'));
  release = await launchReleaseService({
    address: '127.0.0.1:0',
    releasesDir: join(dir, 'releases'),
    registry,
    feedback: feedbackStore,
    events,
    adminToken: ADMIN_TOKEN,
    settings: { ladder: [10, 50, 100], minRatings: 10, minCalls: 5, alpha: 0.05, errorMargin: 0.02, latencyRatio: 3, minStepSeconds: 0 },
    analysisIntervalMs: 60 * 60 * 1000,
    autoRelease: false,
    logger: logger('release-service'),
  });
  gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: `127.0.0.1:${style.port}`,
      trainerAddr: trainer.address,
      releaseAddr: `127.0.0.1:${release.port}`,
      gatewayCorsOrigins: [ORIGIN],
      maxUploadBytes: MAX_UPLOAD,
      chunkBytes: 64 * 1024,
    },
    logger: logger('gateway'),
    webDist: false,
    upstreamCheckTimeoutMs: 20_000,
  });
  styleClient = new StyleServiceClient(`127.0.0.1:${style.port}`, credentials.createInsecure());
  photo = await photoJpeg(96, 64);
  paintingBytes = await painting();
}, 300_000);

afterAll(async () => {
  styleClient?.close();
  await gateway?.close();
  await trainer?.close();
  await release?.close();
  await events?.close();
  await style?.close(1000);
  await feedbackStore?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A unary gRPC call on any generated client; resolves with the error (or undefined on OK). */
function grpcError<Req>(
  client: object,
  method: (request: Req, metadata: Metadata, options: object, callback: (error: ServiceError | null) => void) => unknown,
  request: Req,
  metadata = new Metadata(),
): Promise<ServiceError | undefined> {
  return new Promise((resolve) => method.call(client, request, metadata, { deadline: Date.now() + 30_000 }, (error) => resolve(error ?? undefined)));
}

/** A StylizeImage call on gRPC; resolves with its final error and whether work was accepted. */
function stylizeImageGrpc(request: StylizeImageRequest): Promise<{ error?: ServiceError; accepted: boolean }> {
  return new Promise((resolve) => {
    let accepted = false;
    const call = styleClient.stylizeImage(request, new Metadata(), { deadline: Date.now() + 30_000 });
    call.on('data', (message: StylizeImageResponse) => (accepted ||= message.kind?.$case === 'accepted'));
    call.on('error', (error: ServiceError) => resolve({ error, accepted }));
    call.on('end', () => resolve({ accepted }));
  });
}

const web = (path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<GrpcWebReply> =>
  callGrpcWeb(gateway.url, path, body, { headers: { origin: ORIGIN, ...headers } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function stylizeRequest(styleName: string, image: Buffer, version = ''): StylizeImageRequest {
  return { header: { style: styleName, version, format: OutputFormat.OUTPUT_FORMAT_PNG, quality: 0, maxDimension: 0, clientId: 'security-test' }, image };
}

describe('admin calls', () => {
  const fineTune = FineTuneRequest.fromPartial({ style: STYLE, reason: 'security test' });
  const cancel = CancelJobRequest.fromPartial({ jobId: 'no-such-job' });
  let fromImage: CreateStyleFromImageRequest;
  beforeAll(() => {
    fromImage = CreateStyleFromImageRequest.fromPartial({
      header: { styleId: 'intruder', displayName: 'Intruder', description: 'Should never be trained.' },
      painting: paintingBytes,
    });
  });

  it('are refused on gRPC without the token (UNAUTHENTICATED) and with a wrong one (PERMISSION_DENIED)', async () => {
    const client = trainer.client;
    for (const [method, request] of [
      [client.fineTune, fineTune],
      [client.cancelJob, cancel],
      [client.createStyleFromImage, fromImage],
    ] as const) {
      const call = method as Parameters<typeof grpcError>[1];
      expect((await grpcError(client, call, request))?.code).toBe(status.UNAUTHENTICATED);
      expect((await grpcError(client, call, request, admin(WRONG_TOKEN)))?.code).toBe(status.PERMISSION_DENIED);
    }
    // The right token passes the check (the unknown job is then NOT_FOUND), so the refusals above are the token's doing.
    expect((await grpcError(client, client.cancelJob as Parameters<typeof grpcError>[1], cancel, admin()))?.code).toBe(status.NOT_FOUND);
    expect(await trainer.registry.hasStyle('intruder')).toBe(false);
  });

  it('are refused on gRPC-Web through the gateway without the token and with a wrong one', async () => {
    const calls: [string, Uint8Array][] = [
      ['/nst.v1.TrainerService/FineTune', FineTuneRequest.encode(fineTune).finish()],
      ['/nst.v1.TrainerService/CancelJob', CancelJobRequest.encode(cancel).finish()],
      ['/nst.v1.TrainerService/CreateStyleFromImage', CreateStyleFromImageRequest.encode(fromImage).finish()],
    ];
    for (const [path, body] of calls) {
      const none = await web(path, body);
      expect(none.grpcStatus, path).toBe(status.UNAUTHENTICATED);
      expect(none.grpcMessage).toMatch(/admin token/);
      const wrong = await web(path, body, bearer(WRONG_TOKEN));
      expect(wrong.grpcStatus, path).toBe(status.PERMISSION_DENIED);
      // A token smuggled in another header is not a token.
      expect((await web(path, body, { 'x-admin-token': ADMIN_TOKEN })).grpcStatus, path).toBe(status.UNAUTHENTICATED);
    }
    const right = await web('/nst.v1.TrainerService/CancelJob', CancelJobRequest.encode(cancel).finish(), bearer(ADMIN_TOKEN));
    expect(right.grpcStatus).toBe(status.NOT_FOUND);
    expect(await trainer.registry.hasStyle('intruder')).toBe(false);
  });

  it('ReleaseService mutations are refused on gRPC-Web without the token and with a wrong one; reads are open', async () => {
    const mutations: [string, Uint8Array][] = [
      ['/nst.v1.ReleaseService/StartCanary', StartCanaryRequest.encode({ style: STYLE, version: '1', initialWeight: 50 }).finish()],
      ['/nst.v1.ReleaseService/SetWeight', SetWeightRequest.encode({ style: STYLE, weight: 100 }).finish()],
      ['/nst.v1.ReleaseService/Promote', PromoteRequest.encode({ style: STYLE, reason: 'intruder' }).finish()],
      ['/nst.v1.ReleaseService/Rollback', RollbackRequest.encode({ style: STYLE, reason: 'intruder' }).finish()],
    ];
    for (const [path, body] of mutations) {
      expect((await web(path, body)).grpcStatus, path).toBe(status.UNAUTHENTICATED);
      expect((await web(path, body, bearer(WRONG_TOKEN))).grpcStatus, path).toBe(status.PERMISSION_DENIED);
    }
    const read = await web('/nst.v1.ReleaseService/GetRollout', GetRolloutRequest.encode({ style: STYLE }).finish());
    expect(read.grpcStatus, read.grpcMessage).toBe(status.OK);
    for (const name of ['..', '../../etc/passwd', 'constructor', '__proto__']) {
      const traversal = await web('/nst.v1.ReleaseService/GetRollout', GetRolloutRequest.encode({ style: name }).finish());
      expect([status.INVALID_ARGUMENT, status.NOT_FOUND], `${name}: ${traversal.grpcMessage}`).toContain(traversal.grpcStatus);
    }
  });
});

// Object-prototype names too: a lookup keyed by style in a plain object must not find them.
const TRAVERSALS = ['..', '../tiny-wave', '../../../../etc/passwd', 'tiny-wave/../../x', '/etc/passwd', '..%2f..%2fetc', 'tiny-wave\u0000', '.\\..\\x', 'constructor', '__proto__', 'valueof', 'hasownproperty'];

describe('path traversal in style, version and job names', () => {
  const refused = (code: number | undefined) => code === status.INVALID_ARGUMENT || code === status.NOT_FOUND;

  it('is refused on gRPC by StyleService and TrainerService', async () => {
    for (const name of TRAVERSALS) {
      const byStyle = await stylizeImageGrpc(stylizeRequest(name, photo));
      expect(refused(byStyle.error?.code), `style ${JSON.stringify(name)}: ${byStyle.error?.details}`).toBe(true);
      expect(byStyle.accepted).toBe(false);
      const byVersion = await stylizeImageGrpc(stylizeRequest(STYLE, photo, name));
      expect(refused(byVersion.error?.code), `version ${JSON.stringify(name)}: ${byVersion.error?.details}`).toBe(true);
      const feedback = await grpcError(
        styleClient,
        styleClient.submitFeedback as Parameters<typeof grpcError>[1],
        SubmitFeedbackRequest.fromPartial({ requestId: 'r', style: name, version: '1', rating: Rating.RATING_BAD, clientId: 'c' }),
      );
      expect(refused(feedback?.code), `feedback style ${JSON.stringify(name)}: ${feedback?.details}`).toBe(true);
      const t = trainer.client;
      for (const [method, request] of [
        [t.listVersions, ListVersionsRequest.fromPartial({ style: name })],
        [t.getJob, GetJobRequest.fromPartial({ jobId: name })],
        [t.fineTune, FineTuneRequest.fromPartial({ style: name })],
        [t.fineTune, FineTuneRequest.fromPartial({ style: STYLE, version: name })],
      ] as const) {
        const error = await grpcError(t, method as Parameters<typeof grpcError>[1], request, admin());
        expect(refused(error?.code), `${JSON.stringify(request)}: ${error?.code} ${error?.details}`).toBe(true);
        // The reply names what was asked, never a resolved path on the server.
        expect(error?.details ?? '').not.toContain(dir);
        expect(error?.details ?? '').not.toContain(trainer.root);
      }
    }
  });

  it('is refused on gRPC-Web through the gateway, and on the thumbnail route', async () => {
    for (const name of TRAVERSALS) {
      const stylized = await web('/nst.v1.StyleService/StylizeImage', StylizeImageRequest.encode(stylizeRequest(name, photo)).finish());
      expect(refused(stylized.grpcStatus), `${name}: ${stylized.grpcMessage}`).toBe(true);
      expect(stylized.messages).toHaveLength(0);
      const versions = await web('/nst.v1.TrainerService/ListVersions', ListVersionsRequest.encode({ style: name }).finish());
      expect(refused(versions.grpcStatus), `${name}: ${versions.grpcMessage}`).toBe(true);
      const watched = await web('/nst.v1.TrainerService/WatchJob', WatchJobRequest.encode({ jobId: name }).finish());
      expect(refused(watched.grpcStatus), `${name}: ${watched.grpcMessage}`).toBe(true);
    }
    for (const path of ['/styles/..%2F..%2Fetc%2Fpasswd/thumbnail.jpg', '/styles/%2e%2e/thumbnail.jpg', '/styles/../../etc/passwd']) {
      const response = await fetch(new URL(path, gateway.url));
      expect(response.status, path).toBe(404);
      expect(await response.text()).not.toMatch(/root:/);
    }
  });
});

describe('limits are enforced before work is done', () => {
  it('refuses a gRPC-Web upload declared over the limit before its body is sent', async () => {
    const declared = 64 * 1024 * 1024;
    const reply = await new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const request = httpRequest(new URL('/nst.v1.StyleService/StylizeImage', gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'application/grpc-web+proto', 'content-length': String(declared), 'x-grpc-web': '1' },
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      });
      request.on('error', reject);
      // 16 KiB of 64 MiB: the answer must come without the rest.
      request.write(Buffer.alloc(16 * 1024));
    });
    expect(reply.status).toBe(200);
    const trailer = reply.body.subarray(5).toString('latin1');
    expect(trailer).toMatch(/grpc-status:\s*8/);
    expect(decodeURIComponent(trailer)).toMatch(/send a smaller image/);
  });

  it('refuses a decompression bomb on gRPC-Web with RESOURCE_EXHAUSTED, without accepting it for work', async () => {
    const bomb = bombPng(30000);
    const started = performance.now();
    const reply = await web('/nst.v1.StyleService/StylizeImage', StylizeImageRequest.encode(stylizeRequest(STYLE, bomb)).finish());
    expect(reply.grpcStatus, reply.grpcMessage).toBe(status.RESOURCE_EXHAUSTED);
    expect(reply.grpcMessage).toMatch(/pixel|MP|megapixel/i);
    // 900 MP decoded would take seconds and 2.7 GB; the header check answers at once.
    expect(performance.now() - started).toBeLessThan(5000);
    // Admission is answered first ('accepted'); the declared size is then refused before any
    // decode, queue slot or tile: no progress and no output.
    const kinds = reply.messages.map((m) => StylizeImageResponse.decode(m).kind?.$case);
    expect(kinds.filter((kind) => kind !== 'accepted')).toEqual([]);
  });
});

describe('CORS', () => {
  it('answers only the allow-listed origin, on preflight and on calls', async () => {
    const preflight = (origin: string) =>
      fetch(new URL('/nst.v1.StyleService/ListStyles', gateway.url), {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web,authorization' },
      });
    expect((await preflight(ORIGIN)).headers.get('access-control-allow-origin')).toBe(ORIGIN);
    for (const origin of ['http://evil.example.net', 'http://app.example.com.evil.net', 'null']) {
      expect((await preflight(origin)).headers.get('access-control-allow-origin'), origin).toBeNull();
      const call = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/ListStyles', ListStylesRequest.encode({}).finish(), { headers: { origin } });
      expect(call.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });
});

describe('per-client rate limit at the gateway', () => {
  let limited: RunningGateway;
  beforeAll(async () => {
    limited = await startGateway({
      config: {
        gatewayHost: '127.0.0.1',
        gatewayPort: 0,
        styleAddr: `127.0.0.1:${style.port}`,
        trainerAddr: trainer.address,
        gatewayCorsOrigins: [ORIGIN],
        maxUploadBytes: MAX_UPLOAD,
        chunkBytes: 64 * 1024,
        gatewayRateLimit: 5,
        gatewayRateWindowSeconds: 60,
      },
      webDist: false,
      upstreamCheckTimeoutMs: 20_000,
    });
  });
  afterAll(async () => limited?.close());

  /** A GET from a chosen loopback source address (a second client). */
  const getFrom = (path: string, localAddress: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const request = httpRequest(new URL(path, limited.url), { localAddress }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      });
      request.on('error', reject);
      request.end();
    });

  it('answers gRPC-Web over the limit with HTTP 200 and grpc-status 8, plain HTTP with 429, and spares other clients and probes', async () => {
    const list = () => callGrpcWeb(limited.url, '/nst.v1.StyleService/ListStyles', ListStylesRequest.encode({}).finish());
    for (let i = 0; i < 5; i++) expect((await list()).grpcStatus).toBe(status.OK);
    const refused = await list();
    expect(refused.httpStatus).toBe(200);
    expect(refused.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.grpcMessage).toMatch(/more than 5 requests in 60 s.*retry in/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const text = await callGrpcWeb(limited.url, '/nst.v1.StyleService/ListStyles', ListStylesRequest.encode({}).finish(), { mode: 'text' });
    expect(text.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);

    const thumbnail = await fetch(new URL(`/styles/${STYLE}/thumbnail.jpg`, limited.url));
    expect(thumbnail.status).toBe(429);
    expect(((await thumbnail.json()) as { error: string }).error).toMatch(/NST_GATEWAY_RATE_LIMIT/);
    expect((await fetch(new URL('/healthz', limited.url))).status).toBe(200);
    expect((await fetch(new URL('/metrics', limited.url))).status).toBe(200);
    // Another client address has its own budget.
    expect((await getFrom('/healthz', '127.0.0.2')).status).toBe(200);
    expect((await getFrom(`/styles/${STYLE}/thumbnail.jpg`, '127.0.0.2')).status).not.toBe(429);
  });
});

describe('logs', () => {
  it('hold no admin token and no image bytes, though every call above was logged', async () => {
    // A successful stylize and an authorised call, so the logs have had the chance to leak.
    const ok = await web('/nst.v1.StyleService/StylizeImage', StylizeImageRequest.encode(stylizeRequest(STYLE, photo)).finish(), bearer(ADMIN_TOKEN));
    expect(ok.grpcStatus, ok.grpcMessage).toBe(status.OK);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const text = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(10);
    expect(text).toMatch(/stylized/);
    for (const service of ['gateway', 'style-service', 'trainer']) expect(text).toContain(`"service.name":"${service}"`);
    for (const secret of [ADMIN_TOKEN, WRONG_TOKEN]) expect(text).not.toContain(secret);
    // Image bytes in any encoding a logger might use: base64, hex, or a JSON array of bytes.
    for (const image of [photo, paintingBytes]) {
      const middle = image.subarray(Math.floor(image.length / 2), Math.floor(image.length / 2) + 48);
      expect(text).not.toContain(middle.toString('base64').slice(4, 40));
      expect(text).not.toContain(middle.toString('hex'));
      expect(text).not.toContain(Array.from(middle.subarray(0, 12)).join(','));
    }
  });
});

/**
 * The bridge against a real grpc-js upstream (@nst/test-kit's echo-style-service.ts), whose replies are
 * derived from the request, so every assertion checks what crossed the gateway each way.
 */
import { status, type Metadata } from '@grpc/grpc-js';
import { ListStylesRequest, ListStylesResponse, StylizeImageRequest, StylizeImageResponse, SubmitFeedbackRequest } from '@nst/proto';
import { STATUS_DETAILS, startEchoStyleService, type EchoUpstream } from '@nst/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../gateway';
import { callGrpcWeb } from './fetch-client';
import { encodeFrame, MESSAGE_FLAG } from './framing';

let upstream: EchoUpstream;
let gateway: RunningGateway;
const ORIGIN = 'http://app.example.com';

beforeAll(async () => {
  upstream = await startEchoStyleService();
  gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: `127.0.0.1:${upstream.port}`,
      // Nothing listens here: readiness must say so.
      trainerAddr: '127.0.0.1:1',
      gatewayCorsOrigins: [ORIGIN],
      // With the header allowance, requests up to 64 KiB + 1 KiB pass.
      maxUploadBytes: 1024,
      chunkBytes: 16 * 1024,
    },
    webDist: false,
    // Generous: a loaded CI machine must not turn a slow answer into "unreachable".
    upstreamCheckTimeoutMs: 20_000,
  });
});

afterAll(async () => {
  await gateway?.close();
  upstream?.server.forceShutdown();
});

const stylizeRequest = (image: Buffer, steps: number, delayMs: number, clientId = ''): Uint8Array =>
  StylizeImageRequest.encode({
    header: { style: 'mosaic', format: 0, quality: steps, maxDimension: delayMs, clientId },
    image,
  }).finish();

describe('gRPC-Web bridge', () => {
  it('answers a unary call in binary mode with header metadata and trailers passed through', async () => {
    const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/ListStyles', ListStylesRequest.encode({}).finish(), {
      headers: { 'x-nst-client-id': 'browser-42', 'custom-bin': Buffer.from([0, 255]).toString('base64') },
    });
    expect(reply.httpStatus).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/grpc-web+proto');
    expect(reply.headers.get('x-nst-version')).toBe('v7');
    expect(reply.grpcStatus).toBe(status.OK);
    expect(reply.trailers.get('x-nst-request-id')).toBe('req-1');
    expect(reply.messages).toHaveLength(1);
    expect(ListStylesResponse.decode(reply.messages[0] as Buffer).styles[0]?.displayName).toBe('Stained glass');
    const metadata = upstream.log.metadata.at(-1) as Metadata;
    expect(metadata.get('x-nst-client-id')).toEqual(['browser-42']);
    expect(metadata.get('custom-bin')).toEqual([Buffer.from([0, 255])]);
  });

  it('streams a server-streaming call in text mode, messages in order, then trailers', async () => {
    const image = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const seen: string[] = [];
    const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/StylizeImage', stylizeRequest(image, 4, 2), {
      mode: 'text',
      onMessage: (message) => seen.push(StylizeImageResponse.decode(message).kind?.$case ?? '?'),
    });
    expect(reply.headers.get('content-type')).toBe('application/grpc-web-text+proto');
    expect(reply.grpcStatus).toBe(status.OK);
    expect(seen).toEqual(['accepted', ...Array.from({ length: 4 }, () => ['progress', 'chunk']).flat()]);
    const output = Buffer.concat(
      reply.messages.map((m) => StylizeImageResponse.decode(m).kind).flatMap((kind) => (kind?.$case === 'chunk' ? [kind.chunk] : [])),
    );
    expect(output.equals(Buffer.from(image).reverse())).toBe(true);
    expect(reply.trailers.get('x-nst-request-id')).toBe('r1');
  });

  it('turns grpc-timeout into an upstream deadline and reports DEADLINE_EXCEEDED', async () => {
    const before = Date.now();
    // The reply would take at least 100 x 100 ms; the 300 ms deadline ends it.
    const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/StylizeImage', stylizeRequest(Buffer.alloc(10), 100, 100, 'deadline'), {
      headers: { 'grpc-timeout': '300m' },
    });
    expect(reply.grpcStatus).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - before).toBeLessThan(10_000);
    const deadline = upstream.log.deadlines.at(-1) as number;
    expect(deadline - before).toBeGreaterThanOrEqual(300);
    expect(Number.isFinite(deadline)).toBe(true);
  });

  it('cancels the upstream call when the browser aborts', async () => {
    const controller = new AbortController();
    const call = callGrpcWeb(gateway.url, '/nst.v1.StyleService/StylizeImage', stylizeRequest(Buffer.alloc(10), 100, 30, 'aborter'), {
      signal: controller.signal,
      onMessage: () => controller.abort(),
    });
    await expect(call).rejects.toThrow();
    await expect.poll(() => upstream.log.cancelled, { timeout: 30_000 }).toContain('aborter');
  });

  it('passes error statuses, percent-encoded messages and status details through', async () => {
    const request = SubmitFeedbackRequest.encode({
      feedbackId: '',
      requestId: 'r1',
      style: 'gone',
      version: 'v1',
      rating: 1,
      reason: '',
      clientId: '',
      consentToKeepPhoto: false,
    }).finish();
    const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/SubmitFeedback', request);
    expect(reply.grpcStatus).toBe(status.NOT_FOUND);
    expect(reply.grpcMessage).toBe("style 'gone' does not exist — ünknown");
    expect(Buffer.from(reply.trailers.get('grpc-status-details-bin') ?? '', 'base64')).toEqual(STATUS_DETAILS);
  });

  it('refuses oversized requests with RESOURCE_EXHAUSTED and a sentence', async () => {
    for (const size of [70 * 1024, 200 * 1024]) {
      const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/StylizeImage', stylizeRequest(Buffer.alloc(size), 1, 1));
      expect(reply.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
      expect(reply.grpcMessage).toMatch(/more than the gateway accepts/);
    }
  });

  it('answers UNIMPLEMENTED for client-streaming methods and unknown paths, INVALID_ARGUMENT for two messages', async () => {
    const stream = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/Stylize', new Uint8Array());
    expect(stream.grpcStatus).toBe(status.UNIMPLEMENTED);
    expect(stream.grpcMessage).toMatch(/streams requests/);
    const unknown = await callGrpcWeb(gateway.url, '/nst.v1.Nope/Call', new Uint8Array());
    expect(unknown.grpcStatus).toBe(status.UNIMPLEMENTED);
    const twoFrames = Buffer.concat([encodeFrame(MESSAGE_FLAG, new Uint8Array()), encodeFrame(MESSAGE_FLAG, new Uint8Array())]);
    const response = await fetch(new URL('/nst.v1.StyleService/ListStyles', gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web' },
      body: twoFrames,
    });
    const trailers = Buffer.from(await response.arrayBuffer()).toString('latin1');
    expect(trailers).toContain(`grpc-status: ${status.INVALID_ARGUMENT}`);
    expect(trailers).toContain('exactly one message');
  });

  it('allows listed origins only and exposes the gRPC headers to them', async () => {
    const preflight = (origin: string) =>
      fetch(new URL('/nst.v1.StyleService/ListStyles', gateway.url), {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-grpc-web,grpc-timeout,x-nst-version',
        },
      });
    const allowed = await preflight(ORIGIN);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('grpc-timeout');
    const denied = await preflight('http://evil.example.com');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/ListStyles', new Uint8Array(), { headers: { origin: ORIGIN } });
    expect(reply.headers.get('access-control-expose-headers')).toContain('grpc-status');
    expect(reply.headers.get('access-control-expose-headers')).toContain('x-nst-version');
  });

  it('reports liveness, readiness per upstream and Prometheus metrics', async () => {
    expect((await fetch(new URL('/healthz', gateway.url))).status).toBe(200);
    const ready = await fetch(new URL('/readyz', gateway.url));
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { upstreams: Array<{ service: string; status: string }> };
    expect(body.upstreams.find((u) => u.service === 'nst.v1.StyleService')?.status).toBe('SERVING');
    expect(body.upstreams.find((u) => u.service === 'nst.v1.TrainerService')?.status).toBe('UNREACHABLE');
    const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
    expect(metrics).toMatch(/nst_gateway_grpc_web_calls_total\{method="nst.v1.StyleService\/ListStyles",code="OK"\} \d+/);
  });
});

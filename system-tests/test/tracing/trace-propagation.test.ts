/**
 * One stylize request, followed through real spans: the browser's traceparent enters the
 * gateway (gRPC-Web over HTTP), the gateway calls StyleService over gRPC, StyleService
 * decodes, waits for a slot, runs each tile and encodes. Both services run as child processes
 * started the way `npm start` starts them (the telemetry entry point loaded with --import), and
 * export over OTLP http/protobuf to a receiver in this test that decodes what arrives.
 */
import { freePort, type OtlpReceiver, photoJpeg, type ReceivedSpan, registerTinyStyle, startOtlpReceiver } from '@nst/test-kit';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { StylizeImageRequest, StylizeImageResponse } from '@nst/proto';
import { loadConfig, ModelRegistry, waitForServing } from '@nst/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForGateway } from '@nst/gateway';
import { callGrpcWeb } from '@nst/gateway/grpc-web';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const STYLE = 'tiny-wave';
// What a browser sends: W3C trace context, sampled.
const BROWSER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const BROWSER_SPAN = '00f067aa0ba902b7';

let receiver: OtlpReceiver;
let dir: string;
const children: { child: ChildProcess; output: string[] }[] = [];
let gatewayUrl: string;
let styleMetricsUrl: string;

function startTraced(script: string, args: string[], env: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', '@nst/runtime/telemetry/register', script, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  children.push({ child, output });
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  dir = await mkdtemp(join(tmpdir(), 'nst-tracing-'));
  const config = loadConfig({ NST_DATA_DIR: dir });
  const registry = await ModelRegistry.open(config.registryDir);
  await registerTinyStyle(registry, STYLE, [11]);
  const [stylePort, gatewayPort, metricsPort, trainerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  styleMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const env = {
    NST_DATA_DIR: dir,
    NST_STYLE_ADDR: `127.0.0.1:${stylePort}`,
    // StyleService fetches the style's model from TrainerService, which owns the registry.
    NST_TRAINER_ADDR: `127.0.0.1:${trainerPort}`,
    NST_TRAINER_METRICS_PORT: '0',
    NST_STARTER_DIR: join(dir, 'no-starters'),
    NST_RELEASE_ADDR: '127.0.0.1:1',
    NST_GATEWAY_HOST: '127.0.0.1',
    NST_GATEWAY_PORT: String(gatewayPort),
    NST_STYLE_METRICS_PORT: String(metricsPort),
    NST_TILE_SIZE: '128',
    NST_TILE_OVERLAP: '16',
    NST_INFERENCE_THREADS: '1',
    NST_LOG_LEVEL: 'warn',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer apm-secret-token',
    OTEL_RESOURCE_ATTRIBUTES: 'service.version=0.1.0-test,deployment.environment=test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  startTraced('trainer/src/main.ts', [], { ...env, OTEL_SERVICE_NAME: 'nst-trainer' });
  startTraced('inference/src/main.ts', [], { ...env, OTEL_SERVICE_NAME: 'nst-style' });
  startTraced('system-tests/test/tracing/gateway-child.ts', [], { ...env, OTEL_SERVICE_NAME: 'nst-gateway' });
  try {
    await waitForServing(env.NST_TRAINER_ADDR, { timeoutMs: 150_000 });
    await waitForServing(env.NST_STYLE_ADDR, { timeoutMs: 150_000 });
    await waitForGateway({ gatewayHost: '127.0.0.1', gatewayPort }, 150_000);
  } catch (error) {
    throw new Error(`${String(error)}\nchild output:\n${children.map((c) => c.output.join('')).join('\n---\n')}`);
  }
  gatewayUrl = `http://127.0.0.1:${gatewayPort}/`;
}, 330_000);

afterAll(async () => {
  await Promise.all(
    children.map(({ child }) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : (child.once('exit', resolve), child.kill('SIGTERM'))))),
  );
  await receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tracing across gateway and StyleService', () => {
  it('links the browser traceparent, gateway, StyleService and inference spans parent to child', async () => {
    // 300x200 in 128-pixel tiles with 16 of overlap: 3 x 2 tiles.
    const photo = await photoJpeg(300, 200);
    const request = StylizeImageRequest.encode({ header: { style: STYLE, format: 0, quality: 0, maxDimension: 0, clientId: 'trace-test', version: '' }, image: photo }).finish();
    const reply = await callGrpcWeb(gatewayUrl, '/nst.v1.StyleService/StylizeImage', request, {
      headers: { traceparent: `00-${BROWSER_TRACE}-${BROWSER_SPAN}-01` },
    });
    expect(reply.grpcStatus, `${reply.trailers.get('grpc-message')}\n${children.map((c) => c.output.join('')).join('\n---\n')}`).toBe(status.OK);
    const summary = reply.messages.map((m) => StylizeImageResponse.decode(m).kind).find((k) => k?.$case === 'summary');
    expect(summary?.$case === 'summary' && summary.summary.version).toBe('1');

    const inTrace = (spans: ReceivedSpan[]) => spans.filter((span) => span.traceId === BROWSER_TRACE);
    const spans = inTrace(
      await receiver.waitFor((all) => {
        const mine = inTrace(all);
        return mine.some((s) => s.name === 'encode') && mine.some((s) => s.service === 'nst-gateway' && s.kind === 'SERVER');
      }),
    );
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId);
    const one = (predicate: (span: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
      const found = spans.filter(predicate);
      expect(found, `${what} in ${spans.map((s) => `${s.service}:${s.kind}:${s.name}`).join(', ')}`).toHaveLength(1);
      return found[0]!;
    };

    // The gateway's HTTP server span continues the browser's trace.
    const gatewayServer = one((s) => s.service === 'nst-gateway' && s.kind === 'SERVER', 'the gateway HTTP server span');
    expect(gatewayServer.parentSpanId).toBe(BROWSER_SPAN);
    expect(gatewayServer.attributes['http.route'] ?? gatewayServer.attributes['url.path'] ?? gatewayServer.attributes['http.target']).toContain('StylizeImage');

    // Its gRPC client call to StyleService descends from it (through fastify's spans).
    const grpcClient = one((s) => s.service === 'nst-gateway' && s.kind === 'CLIENT' && s.name.includes('StyleService/StylizeImage'), 'the gateway gRPC client span');
    let ancestor = parentOf(grpcClient);
    while (ancestor && ancestor !== gatewayServer) ancestor = parentOf(ancestor);
    expect(ancestor, 'the gRPC client span descends from the gateway server span').toBe(gatewayServer);

    // StyleService's server span is the child of the gateway's client span.
    const styleServer = one((s) => s.service === 'nst-style' && s.kind === 'SERVER', 'the StyleService gRPC server span');
    expect(styleServer.parentSpanId).toBe(grpcClient.spanId);
    expect(styleServer.name).toContain('nst.v1.StyleService/StylizeImage');
    expect(styleServer.attributes).toMatchObject({ 'nst.style': STYLE, 'nst.version': '1', 'rpc.grpc.status_code': 0 });
    expect(styleServer.resource).toMatchObject({ 'service.version': '0.1.0-test', 'deployment.environment': 'test' });

    // The project's own spans hang below it.
    const decode = one((s) => s.name === 'decode', 'decode');
    expect(decode.parentSpanId).toBe(styleServer.spanId);
    expect(decode.attributes).toMatchObject({ 'nst.bytes': photo.length, 'nst.pixels': 300 * 200, 'nst.width': 300, 'nst.height': 200 });
    const queueWait = one((s) => s.name === 'queue wait', 'queue wait');
    expect(queueWait.parentSpanId).toBe(styleServer.spanId);
    // Requests waiting for a slot as this one starts to wait, itself included.
    expect(queueWait.attributes['nst.queue_depth']).toBe(1);
    const inference = one((s) => s.name === 'inference', 'inference');
    expect(inference.parentSpanId).toBe(styleServer.spanId);
    expect(inference.attributes).toMatchObject({ 'nst.style': STYLE, 'nst.version': '1', 'nst.pixels': 300 * 200, 'nst.tiles': 6 });
    const tiles = spans.filter((s) => s.name === 'inference tile');
    expect(tiles).toHaveLength(6);
    for (const tile of tiles) expect(tile.parentSpanId).toBe(inference.spanId);
    expect(tiles.map((t) => t.attributes['nst.tile']).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const encode = one((s) => s.name === 'encode', 'encode');
    expect(encode.parentSpanId).toBe(styleServer.spanId);
    expect(encode.attributes['nst.output_bytes']).toBeGreaterThan(0);
    // Children lie within their parent's time.
    for (const child of [decode, queueWait, inference, encode]) {
      expect(child.startNs >= styleServer.startNs && child.endNs <= styleServer.endNs).toBe(true);
    }

    // The same call in StyleService's Prometheus metrics.
    const metrics = await (await fetch(styleMetricsUrl)).text();
    expect(metrics).toMatch(/nst_grpc_server_calls_total\{method="nst.v1.StyleService\/StylizeImage",code="OK"\} 1\n/);
    expect(metrics).toMatch(/nst_grpc_server_call_seconds_count\{method="nst.v1.StyleService\/StylizeImage",code="OK"\} 1\n/);
    expect(metrics).toMatch(new RegExp(`nst_inference_seconds_count\\{style="${STYLE}",version="1"\\} 1\n`));
    expect(metrics).toMatch(/nst_stylize_queue_depth 0\n/);

    // The exporter sent the configured APM secret token.
    expect(receiver.headers.every((h) => h['authorization'] === 'Bearer apm-secret-token')).toBe(true);
  }, 60_000);
});

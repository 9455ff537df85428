/**
 * Start and stop ordering, on a real StyleService process (inference/src/main.ts) as the images
 * run it: with Elasticsearch unreachable at start it starts anyway and answers health with
 * NOT_SERVING (and the gateway's /readyz says so) until Elasticsearch answers, then SERVING,
 * with its lifecycle policies and templates made first; on SIGTERM a StylizeImage stream in
 * flight finishes with its summary while new calls are refused, and the process exits 0.
 *
 * The stand-in for Elasticsearch is a plain HTTP server on a port nothing listens on at first;
 * it answers what StyleService asks at start (ILM policies, index templates) the way
 * Elasticsearch 8 does, product header included (the client refuses answers without it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadGatewayConfig } from '@nst/gateway/config';
import { HealthClient, waitForServing } from '@nst/runtime';
import type { StyleServiceClient, StylizeImageResponse } from '@nst/proto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '@nst/gateway';
import { connect, freePort, header, listStyles, photoJpeg, spawnStyleService, stylizeImage, type ServiceProcess } from '@nst/test-kit';

let esPort: number;
let elasticsearch: Server | undefined;
const esRequests: string[] = [];
let server: ServiceProcess | undefined;
let gateway: RunningGateway | undefined;
let client: StyleServiceClient | undefined;

/** Elasticsearch 8's answers to what StyleService sends at start and when it writes. */
function answerLikeElasticsearch(request: IncomingMessage, response: ServerResponse): void {
  const body: Buffer[] = [];
  request.on('data', (chunk: Buffer) => body.push(chunk));
  request.on('end', () => {
    const path = (request.url ?? '/').split('?')[0]!;
    esRequests.push(`${request.method} ${path}`);
    response.setHeader('x-elastic-product', 'Elasticsearch');
    response.setHeader('content-type', 'application/json');
    if (path === '/_bulk') {
      const lines = Buffer.concat(body).toString('utf8').split('\n').filter(Boolean);
      const items = lines.filter((_line, i) => i % 2 === 0).map((line) => {
        const action = JSON.parse(line) as { create: { _id: string; _index: string } };
        return { create: { _index: action.create._index, _id: action.create._id, status: 201 } };
      });
      response.end(JSON.stringify({ took: 1, errors: false, items }));
      return;
    }
    response.end(JSON.stringify({ acknowledged: true }));
  });
}

async function styleHealth(address: string): Promise<string> {
  const health = new HealthClient(address);
  try {
    return await health.check('nst.v1.StyleService', 2000);
  } finally {
    health.close();
  }
}

async function styleUpstream(): Promise<{ ready: number; style: string | undefined }> {
  const response = await fetch(`${gateway!.url}readyz`);
  const body = (await response.json()) as { upstreams: { service: string; status: string }[] };
  return { ready: response.status, style: body.upstreams.find((u) => u.service === 'nst.v1.StyleService')?.status };
}

beforeAll(async () => {
  esPort = await freePort();
  server = await spawnStyleService(
    {
      ELASTICSEARCH_URL: `http://127.0.0.1:${esPort}`,
      ELASTICSEARCH_USERNAME: 'nst-style',
      ELASTICSEARCH_PASSWORD: 'not-a-secret',
      NST_INFERENCE_THREADS: '1',
      NST_TILE_SIZE: '256',
    },
    { until: 'listening', startTimeoutMs: 240_000 },
  );
  const config = loadGatewayConfig({ NST_DATA_DIR: server.dataDir, NST_GATEWAY_HOST: '127.0.0.1', NST_GATEWAY_PORT: '0', NST_STYLE_ADDR: server.address });
  gateway = await startGateway({ config, webDist: false, upstreamCheckTimeoutMs: 1000 });
  client = connect(Number(server.address.split(':')[1]));
}, 300_000);

afterAll(async () => {
  client?.close();
  await gateway?.close();
  await server?.close();
  await new Promise<void>((resolve) => (elasticsearch ? elasticsearch.close(() => resolve()) : resolve()));
});

describe('StyleService with Elasticsearch away at start, and stopping with a stream in flight', () => {
  it('starts while Elasticsearch is unreachable and reports NOT_SERVING (the gateway /readyz 503) until it answers, then SERVING', async () => {
    // Unreachable: the process lives, and says it is not ready, for as long as that lasts.
    for (let i = 0; i < 3; i++) {
      expect(await styleHealth(server!.address)).toBe('NOT_SERVING');
      expect(await styleUpstream()).toMatchObject({ ready: 503, style: 'NOT_SERVING' });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(server!.exited()).toBeUndefined();
    expect(esRequests).toEqual([]);

    elasticsearch = createServer(answerLikeElasticsearch);
    await new Promise<void>((resolve) => elasticsearch!.listen(esPort, '127.0.0.1', resolve));
    // The retry interval doubles up to 15 s; it is a few seconds at this point.
    await waitForServing(server!.address, { service: 'nst.v1.StyleService', timeoutMs: 30_000 });
    expect((await styleUpstream()).style).toBe('SERVING');
    // The templates and lifecycle policies were made before it said SERVING.
    expect(esRequests).toEqual(
      expect.arrayContaining(['PUT /_ilm/policy/nst-feedback', 'PUT /_index_template/nst-feedback', 'PUT /_ilm/policy/nst-stylize-events', 'PUT /_index_template/nst-stylize-events']),
    );
  }, 60_000);

  it('lets a StylizeImage stream in flight finish on SIGTERM, refuses new calls meanwhile, and exits 0', async () => {
    const style = (await listStyles(client!)).styles[0]!.id;
    const photo = await photoJpeg(1600, 1200);
    const call = client!.stylizeImage({ header: header(style, { maxDimension: 0 }), image: photo }, new Metadata(), { deadline: Date.now() + 180_000 });
    const chunks: Buffer[] = [];
    let summary = false;
    const inFlight = new Promise<ServiceError | undefined>((resolve) => {
      call.on('data', (message: StylizeImageResponse) => {
        if (message.kind?.$case === 'chunk') chunks.push(Buffer.from(message.kind.chunk));
        if (message.kind?.$case === 'summary') summary = true;
      });
      call.on('error', (error: ServiceError) => resolve(error));
      call.on('end', () => resolve(undefined));
    });
    // SIGTERM once painting has started (the first tile's progress): the stream is open.
    await new Promise<void>((resolve) => call.on('data', (message: StylizeImageResponse) => message.kind?.$case === 'progress' && resolve()));
    const exited = new Promise<number | null>((resolve) => server!.process.once('exit', (code) => resolve(code)));
    server!.process.kill('SIGTERM');
    // Draining: a new call on a new connection is refused, not queued behind the stream.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = connect(Number(server!.address.split(':')[1]));
    try {
      const refused = await stylizeImage(late, header(style, { maxDimension: 64 }), await photoJpeg(96, 64), { deadlineMs: 10_000 });
      expect(refused.error?.code, refused.error?.details).toBe(status.UNAVAILABLE);
    } finally {
      late.close();
    }
    const error = await inFlight;
    expect(error?.details).toBeUndefined();
    expect(summary).toBe(true);
    const { width, height } = await sharp(Buffer.concat(chunks)).metadata();
    expect([width, height]).toEqual([1600, 1200]);
    expect(await exited).toBe(0);
  }, 240_000);
});

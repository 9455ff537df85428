/**
 * Interop: `buf curl --protocol grpcweb`, an independent gRPC-Web client (connect-go), calls the
 * gateway with the contract's schema (proto/), a unary and a server-streaming call. buf curl
 * speaks binary gRPC-Web only; text mode (application/grpc-web-text) is covered by
 * bridge.test.ts and by nice-grpc-web in the browser tests.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoStyleService, type EchoUpstream } from '@nst/test-kit';
import { startGateway, type RunningGateway } from '../gateway';

const run = promisify(execFile);
const BUF = fileURLToPath(new URL('../../../node_modules/.bin/buf', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../../../proto', import.meta.url));

let upstream: EchoUpstream;
let gateway: RunningGateway;

beforeAll(async () => {
  upstream = await startEchoStyleService();
  gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: `127.0.0.1:${upstream.port}`,
      trainerAddr: '127.0.0.1:1',
      gatewayCorsOrigins: [],
      maxUploadBytes: 1024 * 1024,
      chunkBytes: 64 * 1024,
    },
    webDist: false,
  });
});

afterAll(async () => {
  await gateway?.close();
  upstream?.server.forceShutdown();
});

async function bufCurl(method: string, data: object, extra: string[] = []): Promise<{ stdout: string; stderr: string }> {
  return run(
    BUF,
    ['curl', '--schema', SCHEMA, '--protocol', 'grpcweb', '--data', JSON.stringify(data), ...extra, new URL(method, gateway.url).href],
    { timeout: 110_000 },
  );
}

/** buf curl prints each reply message as a JSON document. */
function jsonDocuments(stdout: string): unknown[] {
  return stdout
    .split(/\n(?=\{)/)
    .map((text) => text.trim())
    .filter(Boolean)
    .map((text) => JSON.parse(text) as unknown);
}

describe('buf curl --protocol grpcweb against the gateway', () => {
  it('makes a unary call', async () => {
    const { stdout } = await bufCurl('/nst.v1.StyleService/ListStyles', {}, ['-H', 'x-nst-client-id: buf-curl']);
    expect(jsonDocuments(stdout)).toEqual([
      { styles: [{ id: 'mosaic', displayName: 'Stained glass', description: 'cells', latestVersion: 'v7', versions: ['v7'] }] },
    ]);
    expect(upstream.log.metadata.at(-1)?.get('x-nst-client-id')).toEqual(['buf-curl']);
  });

  it('makes a server-streaming call and receives every message in order', async () => {
    const image = Buffer.from('gRPC-Web through the gateway');
    const { stdout } = await bufCurl('/nst.v1.StyleService/StylizeImage', {
      header: { style: 'mosaic', quality: 3, maxDimension: 1 },
      image: image.toString('base64'),
    });
    const messages = jsonDocuments(stdout) as Array<Record<string, { chunk?: string }>>;
    expect(messages.map((message) => Object.keys(message)[0])).toEqual(['accepted', 'progress', 'chunk', 'progress', 'chunk', 'progress', 'chunk']);
    const output = Buffer.concat(messages.flatMap((message) => ('chunk' in message ? [Buffer.from(String(message['chunk']), 'base64')] : [])));
    expect(output.toString()).toBe(Buffer.from(image).reverse().toString());
  });

  it('reports a failed call with its gRPC code as the exit status', async () => {
    const failure = await bufCurl('/nst.v1.StyleService/SubmitFeedback', { style: 'gone', version: 'v1', rating: 'RATING_GOOD' }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    // buf curl exits with the gRPC code shifted left by three bits: NOT_FOUND (5) -> 40.
    expect(failure?.code).toBe(5 << 3);
    expect(failure?.stderr).toContain('"not_found"');
  });
});

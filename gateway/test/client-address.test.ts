/**
 * Who the client is, on both paths into the platform. The per-client rate limit (Envoy in
 * compose and the cluster, the gateway everywhere) and StyleService's per-client admission
 * (x-nst-client-address) count by the client's address, which behind proxies must come from
 * x-forwarded-for, trusting exactly the proxies in front and nothing a client wrote there.
 *
 * The gateway part is its real behaviour: requests with forwarded-for headers from a trusted
 * and an untrusted hop, counted by @fastify/rate-limit, and the metadata StyleService gets.
 * The topology part follows a browser's request hop by hop through compose (Envoy, gateway)
 * and the cluster (Istio's ingress gateway, sidecars, Envoy, gateway): each Envoy's trusted
 * address by Envoy's documented x-forwarded-for rules applied to the config it runs, and the
 * gateway's by running it with the hop count its manifest sets.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { ListStylesRequest } from '@nst/proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { startGateway, type RunningGateway } from '../src/gateway';
import { callGrpcWeb } from '../src/grpc-web/fetch-client';
import { startEchoStyleService, type EchoUpstream } from '@nst/test-kit';
import { loadGatewayConfig } from '../src/config';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BROWSER = '203.0.113.7';
const SPOOFED = ['198.51.100.66', '10.0.0.1'];

let echo: EchoUpstream;
const gateways: RunningGateway[] = [];

async function gatewayWith(hops: number, rateLimit = 0): Promise<RunningGateway> {
  const gateway = await startGateway({
    config: {
      ...loadGatewayConfig({}),
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr: `127.0.0.1:${echo.port}`,
      trainerAddr: '127.0.0.1:1',
      releaseAddr: '127.0.0.1:1',
      gatewayRateLimit: rateLimit,
      gatewayRateWindowSeconds: 60,
      gatewayTrustedHops: hops,
    },
    webDist: false,
  });
  gateways.push(gateway);
  return gateway;
}

/** A plain GET with headers (fetch forbids none of these, but keep it at the HTTP level). */
function get(gateway: RunningGateway, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(path, gateway.url), { headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

/** ListStyles through the gateway; resolves with the x-nst-client-address StyleService got. */
async function clientAddressSeenUpstream(gateway: RunningGateway, headers: Record<string, string>): Promise<string | undefined> {
  const before = echo.log.metadata.length;
  const reply = await callGrpcWeb(gateway.url, '/nst.v1.StyleService/ListStyles', ListStylesRequest.encode({}).finish(), { headers });
  expect(reply.grpcStatus, reply.grpcMessage).toBe(status.OK);
  expect(echo.log.metadata.length).toBe(before + 1);
  const value = echo.log.metadata.at(-1)!.get('x-nst-client-address');
  expect(value).toHaveLength(1);
  return value[0] as string;
}

beforeAll(async () => {
  echo = await startEchoStyleService();
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  echo?.server.forceShutdown();
});
beforeEach(() => {
  echo.log.metadata.length = 0;
});

describe("the gateway's idea of the client (NST_GATEWAY_TRUSTED_HOPS)", () => {
  it('with no proxy trusted (npm start), x-forwarded-for moves nothing: one bucket per connection address, and that address upstream', async () => {
    const gateway = await gatewayWith(0, 3);
    for (let i = 0; i < 3; i++) expect(await get(gateway, '/styles/none/thumbnail.jpg', { 'x-forwarded-for': `198.51.100.${i}` })).toBe(404);
    expect(await get(gateway, '/styles/none/thumbnail.jpg', { 'x-forwarded-for': '198.51.100.99' })).toBe(429);
    const other = await gatewayWith(0);
    expect(await clientAddressSeenUpstream(other, { 'x-forwarded-for': BROWSER, 'x-nst-client-address': '6.6.6.6' })).toBe('127.0.0.1');
  });

  it('behind one trusted proxy, counts the address that proxy appended, whatever the client wrote before it', async () => {
    const gateway = await gatewayWith(1, 3);
    const from = (chain: string[]) => get(gateway, '/styles/none/thumbnail.jpg', { 'x-forwarded-for': chain.join(', ') });
    for (let i = 0; i < 3; i++) expect(await from([BROWSER])).toBe(404);
    expect(await from([BROWSER])).toBe(429);
    // Writing other addresses in front does not make a new client...
    expect(await from([...SPOOFED, BROWSER])).toBe(429);
    // ...while a different address appended by the proxy is one.
    expect(await from([...SPOOFED, '203.0.113.8'])).toBe(404);
    const other = await gatewayWith(1);
    expect(await clientAddressSeenUpstream(other, { 'x-forwarded-for': [...SPOOFED, BROWSER].join(', '), 'x-nst-client-address': '6.6.6.6' })).toBe(BROWSER);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Envoy's schema is not typed here
type Yaml = any;
interface Arrival {
  /** The address of the connection the request arrives on. */
  peer: string;
  xff: string[];
}
interface Hcm {
  use_remote_address?: boolean;
  xff_num_trusted_hops?: number;
  skip_xff_append?: boolean;
}

/**
 * Envoy's trusted client address, by its documented rules (HTTP connection manager, "x-forwarded-for"):
 * use_remote_address false: the (N+1)th address from the right of XFF, else the peer; true: the
 * peer when N is 0, else the Nth address from the right, else the peer.
 */
function envoyTrustedAddress(hcm: Hcm, arrival: Arrival): string {
  const n = hcm.xff_num_trusted_hops ?? 0;
  const { xff, peer } = arrival;
  if (!hcm.use_remote_address) return xff.length >= n + 1 ? xff[xff.length - 1 - n]! : peer;
  if (n === 0) return peer;
  return xff.length >= n ? xff[xff.length - n]! : peer;
}

/** What Envoy forwards in x-forwarded-for: with use_remote_address it appends its peer. */
function envoyForwards(hcm: Hcm, arrival: Arrival): string[] {
  return hcm.use_remote_address && !hcm.skip_xff_append ? [...arrival.xff, arrival.peer] : arrival.xff;
}

const frontDoorHcm = async (file: string): Promise<Hcm> => {
  const config: Yaml = parse(await readFile(`${REPO}${file}`, 'utf8'));
  return config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
};

async function composeGatewayHops(): Promise<number> {
  const compose: Yaml = parse(await readFile(`${REPO}compose.yaml`, 'utf8'), { merge: true });
  return loadGatewayConfig(compose.services['nst-gateway'].environment).gatewayTrustedHops;
}

async function clusterGatewayHops(): Promise<number> {
  const deployment: Yaml = parseAllDocuments(await readFile(`${REPO}k8s/base/platform/gateway.yaml`, 'utf8'))
    .map((document) => document.toJS() as Yaml)
    .find((object) => object.kind === 'Deployment');
  const env = deployment.spec.template.spec.containers[0].env as { name: string; value?: string }[];
  return loadGatewayConfig(Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]))).gatewayTrustedHops;
}

// Istio's ingress gateway (meshConfig gatewayTopology.numTrustedProxies 0: a cloud load
// balancer that keeps the client's source address) is an Envoy with use_remote_address;
// sidecars pass x-forwarded-for through (use_remote_address false) and hand inbound calls to
// the app from 127.0.0.6.
const ISTIO_INGRESS: Hcm = { use_remote_address: true, xff_num_trusted_hops: 0 };
const SIDECAR_TO_APP = '127.0.0.6';

describe('the browser\'s address, through each deployment\'s proxies', () => {
  it('compose: Envoy is the edge and finds the browser; the gateway behind it, with compose\'s hop count, finds the same', async () => {
    const envoy = await frontDoorHcm('gateway/envoy/envoy.yaml');
    const atEnvoy: Arrival = { peer: BROWSER, xff: SPOOFED };
    expect(envoyTrustedAddress(envoy, atEnvoy)).toBe(BROWSER);
    const atGateway = envoyForwards(envoy, atEnvoy);
    const gateway = await gatewayWith(await composeGatewayHops());
    expect(await clientAddressSeenUpstream(gateway, { 'x-forwarded-for': atGateway.join(', ') })).toBe(BROWSER);
  });

  it("cluster: behind Istio's ingress gateway and the sidecars, Envoy (its generated config) and the gateway (its manifest's hop count) both find the browser", async () => {
    const atIngress: Arrival = { peer: BROWSER, xff: SPOOFED };
    expect(envoyTrustedAddress(ISTIO_INGRESS, atIngress)).toBe(BROWSER);
    // Ingress -> Envoy's sidecar (passes XFF through) -> Envoy.
    const atEnvoy: Arrival = { peer: SIDECAR_TO_APP, xff: envoyForwards(ISTIO_INGRESS, atIngress) };
    const envoy = await frontDoorHcm('k8s/base/envoy/envoy.yaml');
    expect(envoyTrustedAddress(envoy, atEnvoy)).toBe(BROWSER);
    // compose's file in the cluster would count every browser as the sidecar: one bucket.
    expect(envoyTrustedAddress(await frontDoorHcm('gateway/envoy/envoy.yaml'), atEnvoy)).toBe(SIDECAR_TO_APP);
    // Envoy -> its sidecar -> the gateway's sidecar (both pass XFF through) -> the gateway.
    const atGateway = envoyForwards(envoy, atEnvoy);
    const gateway = await gatewayWith(await clusterGatewayHops());
    expect(await clientAddressSeenUpstream(gateway, { 'x-forwarded-for': atGateway.join(', ') })).toBe(BROWSER);
  });
});

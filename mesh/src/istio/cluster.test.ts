import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RolloutRecord, RolloutState } from '../rollout/schema';
import { CanaryNotReadyError, FIELD_MANAGER, istioApplier } from './cluster';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  authorization: string;
  body: { kind?: string; metadata?: { name: string; namespace: string }; spec: Record<string, unknown> } | undefined;
}

const DR = '/apis/networking.istio.io/v1/namespaces/nst/destinationrules/style-releases';
const VS = '/apis/networking.istio.io/v1/namespaces/nst/virtualservices/style-releases';
const deploymentPath = (name: string) => `/apis/apps/v1/namespaces/nst/deployments/${name}`;

/**
 * A stand-in API server that records each request and answers as Kubernetes does: an apply
 * echoes the object, a scale PATCH sets the Deployment's replicas, and a Deployment read
 * reports its replicas available only from the `readyAfterReads`-th read after a scale.
 */
let server: Server;
let seen: Seen[] = [];
let failNext = 0;
let readyAfterReads = 1;
let replicas = 0;
let readsSinceScale = 0;
beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://api');
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as Seen['body']) : undefined;
      seen.push({
        method: request.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        contentType: String(request.headers['content-type']),
        authorization: String(request.headers.authorization),
        body,
      });
      const answer = (code: number, object: unknown) => {
        response.writeHead(code, { 'content-type': 'application/json' });
        response.end(JSON.stringify(object));
      };
      if (failNext > 0) {
        failNext--;
        answer(403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
        return;
      }
      const deployment = /^\/apis\/apps\/v1\/namespaces\/nst\/deployments\/([^/]+)(\/scale)?$/.exec(url.pathname);
      if (!deployment) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(text);
        return;
      }
      const metadata = { name: deployment[1], namespace: 'nst' };
      if (deployment[2] && request.method === 'PATCH') {
        replicas = Number(body?.spec['replicas']);
        readsSinceScale = 0;
        answer(200, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata, spec: { replicas }, status: { replicas: 0 } });
        return;
      }
      readsSinceScale++;
      const available = readsSinceScale >= readyAfterReads ? replicas : 0;
      answer(200, { kind: 'Deployment', apiVersion: 'apps/v1', metadata, spec: { replicas }, status: { replicas, availableReplicas: available } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen = [];
  failNext = 0;
  readyAfterReads = 1;
  replicas = 0;
  readsSinceScale = 0;
});

function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  const { port } = server.address() as AddressInfo;
  config.loadFromOptions({
    clusters: [{ name: 'test', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'release', token: 'sa-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'release' }],
    currentContext: 'test',
  });
  return config;
}

const at = '2026-01-10T12:00:00.000Z';
const record = (overrides: Partial<RolloutRecord>): RolloutRecord => ({
  style: 'mosaic',
  rolloutId: 'r1',
  phase: 'stable',
  stableVersion: '1',
  canaryWeight: 0,
  ladder: [10, 25, 50, 100],
  updatedAt: at,
  weightChangedAt: at,
  ...overrides,
});
const state = (...records: RolloutRecord[]): RolloutState => ({ format: 1, rollouts: Object.fromEntries(records.map((r) => [r.style, r])) });
const stable = state(record({}), record({ style: 'hatch', stableVersion: '2' }));
const canaryAt = (weight: number) => state(record({ phase: 'canary', canaryVersion: '2', canaryWeight: weight }), record({ style: 'hatch', stableVersion: '2' }));

const calls = () => seen.map((s) => `${s.method} ${s.path}`);
/** The subsets the VirtualService of a request routes to. */
const routedSubsets = (request: Seen | undefined): string[] => {
  const http = (request?.body?.spec['http'] ?? []) as { route: { destination: { subset?: string } }[] }[];
  return [...new Set(http.flatMap((r) => r.route.map((d) => d.destination.subset ?? '(none)')))].sort();
};
const fast = { readyTimeoutMs: 500, pollMs: 10 };

describe('istioApplier (cluster mode)', () => {
  it('server-side applies the DestinationRule, then the VirtualService, and at start sets the idle canary Deployment to 0', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: fast, kubeConfig: kubeConfig() });
    await apply(stable);
    expect(calls()).toEqual([`PATCH ${DR}`, `PATCH ${VS}`, `PATCH ${deploymentPath('nst-inference-canary')}/scale`]);
    for (const request of seen.slice(0, 2)) {
      expect(request.contentType).toBe('application/apply-patch+yaml');
      expect(request.query.get('fieldManager')).toBe(FIELD_MANAGER);
      expect(request.query.get('force')).toBe('true');
      expect(request.authorization).toBe('Bearer sa-token');
    }
    const scale = seen[2]!;
    expect(scale.contentType).toBe('application/merge-patch+json');
    expect(scale.query.get('fieldManager')).toBe(FIELD_MANAGER);
    expect(scale.query.has('force')).toBe(false);
    expect(scale.authorization).toBe('Bearer sa-token');
    expect(scale.body).toEqual({ spec: { replicas: 0 } });
    expect(() => new DestinationRule(seen[0]!.body as never).validate()).not.toThrow();
    expect(() => new VirtualService(seen[1]!.body as never).validate()).not.toThrow();
    expect(seen[0]!.body?.spec['subsets']).toEqual([
      { name: 'stable', labels: { 'nst.dev/track': 'stable' } },
      { name: 'canary', labels: { 'nst.dev/track': 'canary' } },
    ]);
    expect(routedSubsets(seen[1])).toEqual(['stable']);
  });

  it('a canary starting: scales the canary Deployment up, waits until its replicas are available, then routes to it', async () => {
    const apply = istioApplier({
      routing: { namespace: 'nst', service: 'style' },
      canary: { deployment: 'style-canary', replicas: 2, ...fast },
      kubeConfig: kubeConfig(),
    });
    await apply(stable);
    seen = [];
    readyAfterReads = 3;
    await apply(canaryAt(10));
    const deployment = deploymentPath('style-canary');
    expect(calls()).toEqual([`PATCH ${deployment}/scale`, `GET ${deployment}`, `GET ${deployment}`, `GET ${deployment}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    expect(seen[0]!.body).toEqual({ spec: { replicas: 2 } });
    expect(seen[0]!.contentType).toBe('application/merge-patch+json');
    expect(seen[1]!.authorization).toBe('Bearer sa-token');
    expect(routedSubsets(seen[5])).toEqual(['canary', 'stable']);
  });

  it('a canary stepping up leaves the Deployment alone; the last canary ending routes away first, then scales to 0', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: fast, kubeConfig: kubeConfig() });
    await apply(canaryAt(10));
    seen = [];
    await apply(canaryAt(25));
    expect(calls()).toEqual([`PATCH ${DR}`, `PATCH ${VS}`]);
    seen = [];
    await apply(state(record({ phase: 'rolled_back' }), record({ style: 'hatch', stableVersion: '2' })));
    expect(calls()).toEqual([`PATCH ${DR}`, `PATCH ${VS}`, `PATCH ${deploymentPath('nst-inference-canary')}/scale`]);
    expect(routedSubsets(seen[1])).toEqual(['stable']);
    expect(seen[2]!.body).toEqual({ spec: { replicas: 0 } });
    seen = [];
    await apply(stable);
    expect(calls()).toEqual([`PATCH ${DR}`, `PATCH ${VS}`]);
  });

  it('a canary whose pods never become available times out with a clear error and is not routed to', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: { readyTimeoutMs: 100, pollMs: 10 }, kubeConfig: kubeConfig() });
    await apply(stable);
    seen = [];
    readyAfterReads = Number.POSITIVE_INFINITY;
    const failed = apply(canaryAt(10));
    await expect(failed).rejects.toBeInstanceOf(CanaryNotReadyError);
    await expect(failed).rejects.toThrow(/nst\/nst-inference-canary has 0 of 1 replicas available after 0 s; routing left unchanged/);
    expect(calls().filter((c) => !c.startsWith('GET '))).toEqual([`PATCH ${deploymentPath('nst-inference-canary')}/scale`]);
    expect(calls().filter((c) => c.startsWith('GET ')).length).toBeGreaterThan(1);

    // The next change waits again (the Deployment is already scaled) and routes once ready.
    seen = [];
    readyAfterReads = 0;
    await apply(canaryAt(25));
    expect(calls()).toEqual([`GET ${deploymentPath('nst-inference-canary')}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    expect(routedSubsets(seen[2])).toEqual(['canary', 'stable']);
  });

  it('reports a refused apply or scale to its caller, and retries the scale on the next change', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: fast, kubeConfig: kubeConfig() });
    failNext = 1;
    await expect(apply(stable)).rejects.toThrow(/403|Forbidden/);
    seen = [];
    failNext = 1;
    await expect(apply(canaryAt(10))).rejects.toThrow(/403|Forbidden/);
    expect(calls()).toEqual([`PATCH ${deploymentPath('nst-inference-canary')}/scale`]);
    seen = [];
    await apply(canaryAt(10));
    expect(calls()[0]).toBe(`PATCH ${deploymentPath('nst-inference-canary')}/scale`);
    expect(calls().slice(-2)).toEqual([`PATCH ${DR}`, `PATCH ${VS}`]);
  });
});

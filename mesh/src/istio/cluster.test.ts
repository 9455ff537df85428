import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RolloutRecord, RolloutState } from '../rollout/schema';
import { FIELD_MANAGER, istioApplier } from './cluster';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  authorization: string;
  body: { kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> };
}

/** A stand-in API server that records each request and answers as Kubernetes does to an apply. */
let server: Server;
let seen: Seen[] = [];
let failNext = 0;
beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://api');
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: request.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        contentType: String(request.headers['content-type']),
        authorization: String(request.headers.authorization),
        body: text ? JSON.parse(text) : undefined,
      });
      if (failNext > 0) {
        failNext--;
        response.writeHead(403, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(text);
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

describe('istioApplier (cluster mode)', () => {
  it('server-side applies the DestinationRule, then the VirtualService, as exact PATCH requests', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, kubeConfig: kubeConfig() });
    await apply(state(record({})));
    expect(seen.map((s) => [s.method, s.path])).toEqual([
      ['PATCH', '/apis/networking.istio.io/v1/namespaces/nst/destinationrules/style-releases'],
      ['PATCH', '/apis/networking.istio.io/v1/namespaces/nst/virtualservices/style-releases'],
    ]);
    for (const request of seen) {
      expect(request.contentType).toBe('application/apply-patch+yaml');
      expect(request.query.get('fieldManager')).toBe(FIELD_MANAGER);
      expect(request.query.get('force')).toBe('true');
      expect(request.authorization).toBe('Bearer sa-token');
    }
    expect(() => new DestinationRule(seen[0]!.body as never).validate()).not.toThrow();
    expect(() => new VirtualService(seen[1]!.body as never).validate()).not.toThrow();
    expect(seen[0]!.body.spec['subsets']).toEqual([{ name: 'v1', labels: { 'nst.dev/version': '1' } }]);
  });

  it('adds a new subset before routing to it, and removes an old one only after routing away from it', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, kubeConfig: kubeConfig() });
    await apply(state(record({})));
    seen = [];
    await apply(state(record({ phase: 'canary', canaryVersion: '2', canaryWeight: 10 })));
    expect(seen.map((s) => [s.body.kind, (s.body.spec['subsets'] as { name: string }[] | undefined)?.map((x) => x.name)])).toEqual([
      ['DestinationRule', ['v1', 'v2']],
      ['VirtualService', undefined],
    ]);
    seen = [];
    await apply(state(record({ phase: 'promoted', stableVersion: '2' })));
    expect(seen.map((s) => [s.body.kind, (s.body.spec['subsets'] as { name: string }[] | undefined)?.map((x) => x.name)])).toEqual([
      ['DestinationRule', ['v1', 'v2']],
      ['VirtualService', undefined],
      ['DestinationRule', ['v2']],
    ]);
  });

  it('reports a refused apply to its caller', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, kubeConfig: kubeConfig() });
    failNext = 1;
    await expect(apply(state(record({})))).rejects.toThrow(/403|Forbidden/);
  });
});

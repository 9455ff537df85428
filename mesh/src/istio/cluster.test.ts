import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RolloutRecord, RolloutState } from '../rollout/schema';
import { CanaryNotReadyError, ClusterSync, FIELD_MANAGER, istioApplier, type IstioApplier } from './cluster';

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
 * stores the object and answers it with a resourceVersion that moves only when the spec changed,
 * a scale PATCH sets the Deployment's replicas, and a Deployment read reports its replicas
 * available only from the `readyAfterReads`-th read after a scale, and at most `availableAtMost(read)`.
 */
let server: Server;
let seen: Seen[] = [];
let failNext = 0;
let readyAfterReads = 1;
let replicas = 0;
let readsSinceScale = 0;
let availableAtMost = (_read: number) => Number.POSITIVE_INFINITY;
let objects = new Map<string, { spec: string; resourceVersion: number }>();
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
        const stored = objects.get(url.pathname);
        const spec = JSON.stringify(body?.spec);
        const resourceVersion = stored?.spec === spec ? stored.resourceVersion : (stored?.resourceVersion ?? 0) + 1;
        objects.set(url.pathname, { spec, resourceVersion });
        answer(200, { ...body, metadata: { ...body?.metadata, resourceVersion: String(resourceVersion) } });
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
      const available = Math.min(availableAtMost(readsSinceScale), readsSinceScale >= readyAfterReads ? replicas : 0);
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
  availableAtMost = () => Number.POSITIVE_INFINITY;
  objects = new Map();
});

/** The canary's pods die now (replicas unchanged) and are available again from the `reads`-th Deployment read on. */
const losePodsUntilRead = (reads: number) => {
  readyAfterReads = readsSinceScale + reads;
};

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
/** The routes of a VirtualService request, by name: each one's subsets and the version it sets. */
const routesOf = (request: Seen | undefined) => {
  const http = (request?.body?.spec['http'] ?? []) as { name: string; route: { destination: { subset: string }; headers?: { request?: { set?: Record<string, string> } } }[] }[];
  return Object.fromEntries(http.map((r) => [r.name, r.route.map((d) => [d.destination.subset, d.headers?.request?.set?.['x-nst-version']])]));
};

describe('istioApplier (cluster mode)', () => {
  it('server-side applies the DestinationRule, then the VirtualService, and at start sets the idle canary Deployment to 0', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: fast, kubeConfig: kubeConfig() });
    await apply(stable);
    expect(calls()).toEqual([`PATCH ${DR}`, `PATCH ${VS}`, `PATCH ${deploymentPath('nst-style-canary')}/scale`]);
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
    expect(calls()).toEqual([
      `GET ${deployment}`,
      `PATCH ${deployment}/scale`,
      `GET ${deployment}`,
      `GET ${deployment}`,
      `GET ${deployment}`,
      `PATCH ${DR}`,
      `PATCH ${VS}`,
    ]);
    expect(seen[1]!.body).toEqual({ spec: { replicas: 2 } });
    expect(seen[1]!.contentType).toBe('application/merge-patch+json');
    expect(seen[0]!.authorization).toBe('Bearer sa-token');
    expect(routedSubsets(seen[6])).toEqual(['canary', 'stable']);
  });

  it('a canary stepping up only reads the Deployment; the last canary ending routes away first, then scales to 0', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: fast, kubeConfig: kubeConfig() });
    await apply(canaryAt(10));
    seen = [];
    expect(await apply(canaryAt(25))).toEqual([`applied virtualservices/style-releases`]);
    expect(calls()).toEqual([`GET ${deploymentPath('nst-style-canary')}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    seen = [];
    await apply(state(record({ phase: 'rolled_back' }), record({ style: 'hatch', stableVersion: '2' })));
    expect(calls()).toEqual([`PATCH ${DR}`, `PATCH ${VS}`, `PATCH ${deploymentPath('nst-style-canary')}/scale`]);
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
    await expect(failed).rejects.toThrow(/nst\/nst-style-canary has 0 of 1 replicas available after 0 s; routing left unchanged/);
    expect(calls().filter((c) => !c.startsWith('GET '))).toEqual([`PATCH ${deploymentPath('nst-style-canary')}/scale`]);
    expect(calls().filter((c) => c.startsWith('GET ')).length).toBeGreaterThan(2);

    // The next change finds the Deployment scaled and its pods available, and routes.
    seen = [];
    readyAfterReads = 0;
    await apply(canaryAt(25));
    expect(calls()).toEqual([`GET ${deploymentPath('nst-style-canary')}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    expect(routedSubsets(seen[2])).toEqual(['canary', 'stable']);
  });

  it('a fresh process finding a live canary without pods holds every style at stable before it waits (the cluster may route there)', async () => {
    replicas = 1;
    readyAfterReads = 3;
    const held: string[][] = [];
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: fast, kubeConfig: kubeConfig() });
    const changes = await apply(canaryAt(10), undefined, (c) => held.push(c));
    const deployment = deploymentPath('nst-style-canary');
    expect(calls()).toEqual([`GET ${deployment}`, `PATCH ${DR}`, `PATCH ${VS}`, `GET ${deployment}`, `GET ${deployment}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    expect(routedSubsets(seen[2])).toEqual(['stable']);
    expect(routedSubsets(seen[6])).toEqual(['canary', 'stable']);
    expect(held).toEqual([
      [
        'canary track nst/nst-style-canary has 0 of 1 replicas available: every style held at stable until it has',
        'applied destinationrules/style-releases',
        'applied virtualservices/style-releases',
      ],
    ]);
    expect(changes).toEqual([
      'nst/nst-style-canary has 1 replicas available',
      'applied virtualservices/style-releases',
      'canary routing restored: nst/nst-style-canary has its pods back',
    ]);
  });

  it('a canary track short of replicas but not empty keeps the canary routing while the pass waits for the rest', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: { replicas: 2, readyTimeoutMs: 100, pollMs: 10 }, kubeConfig: kubeConfig() });
    await apply(canaryAt(10));
    seen = [];
    availableAtMost = () => 1;
    const held: string[][] = [];
    const failed = apply(canaryAt(10), undefined, (c) => held.push(c));
    await expect(failed).rejects.toThrow(/has 1 of 2 replicas available after 0 s; routing left unchanged/);
    expect(calls().filter((c) => !c.startsWith('GET '))).toEqual([]);
    expect(held).toEqual([]);
    // The last one left dies during the wait: the pass routes around the empty track at once.
    seen = [];
    const firstRead = readsSinceScale + 1;
    availableAtMost = (read) => (read <= firstRead + 1 ? 1 : 0);
    await expect(apply(canaryAt(10), undefined, (c) => held.push(c))).rejects.toThrow(/has 0 of 2 replicas available after 0 s; every style stays routed to stable/);
    expect(calls().slice(0, 5)).toEqual([`GET ${deploymentPath('nst-style-canary')}`, `GET ${deploymentPath('nst-style-canary')}`, `GET ${deploymentPath('nst-style-canary')}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    expect(calls().filter((c) => !c.startsWith('GET '))).toEqual([`PATCH ${DR}`, `PATCH ${VS}`]);
    expect(routedSubsets(seen.find((s) => s.path === VS))).toEqual(['stable']);
    expect(held).toHaveLength(1);
  });

  it('reports a refused apply, read or scale to its caller, and scales on the next try', async () => {
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary: fast, kubeConfig: kubeConfig() });
    failNext = 1;
    await expect(apply(stable)).rejects.toThrow(/403|Forbidden/);
    seen = [];
    failNext = 1;
    await expect(apply(canaryAt(10))).rejects.toThrow(/403|Forbidden/);
    expect(calls()).toEqual([`GET ${deploymentPath('nst-style-canary')}`]);
    seen = [];
    await apply(canaryAt(10));
    expect(calls().slice(0, 2)).toEqual([`GET ${deploymentPath('nst-style-canary')}`, `PATCH ${deploymentPath('nst-style-canary')}/scale`]);
    expect(calls().slice(-2)).toEqual([`PATCH ${DR}`, `PATCH ${VS}`]);
  });
});

/** A logger that keeps what ClusterSync says, by level. */
const recordingLogger = () => {
  const lines: { level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: 'info' | 'warn' | 'error') => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } as never };
};

describe('ClusterSync (cluster mode in the background, with the periodic reconcile)', () => {
  const canaryDeployment = deploymentPath('nst-style-canary');
  const sync = (canary = fast) => {
    const log = recordingLogger();
    const apply = istioApplier({ routing: { namespace: 'nst', service: 'style' }, canary, kubeConfig: kubeConfig() });
    return { log, sync: new ClusterSync({ apply, reconcileMs: 0, logger: log.logger }) };
  };

  it('a reconcile restores canary replicas reset to 0 during a canary, waits for its pods, and says what it changed', async () => {
    const { sync: cluster, log } = sync();
    cluster.offer(canaryAt(10));
    await cluster.settled();
    // `kubectl apply -k k8s/base` puts the manifest's `replicas: 0` back.
    replicas = 0;
    seen = [];
    log.lines.length = 0;
    expect(await cluster.reconcile()).toBe(true);
    // Its pods went with the replicas: every style is held at stable before the wait, as for lost pods.
    expect(calls()).toEqual([
      `GET ${canaryDeployment}`,
      `PATCH ${canaryDeployment}/scale`,
      `PATCH ${DR}`,
      `PATCH ${VS}`,
      `GET ${canaryDeployment}`,
      `PATCH ${DR}`,
      `PATCH ${VS}`,
    ]);
    expect(seen[1]!.body).toEqual({ spec: { replicas: 1 } });
    expect(routedSubsets(seen[3])).toEqual(['stable']);
    expect(routedSubsets(seen[6])).toEqual(['canary', 'stable']);
    expect(log.lines).toEqual([
      {
        level: 'warn',
        fields: {
          cause: 'reconcile',
          changes: [
            'scaled nst/nst-style-canary from 0 to 1 replicas',
            'canary track nst/nst-style-canary has 0 of 1 replicas available: every style held at stable until it has',
            'applied virtualservices/style-releases',
          ],
        },
        message: 'canary track has no available pods: every style routed to stable until they are back',
      },
      {
        level: 'info',
        fields: {
          cause: 'reconcile',
          changes: [
            'nst/nst-style-canary has 1 replicas available',
            'applied virtualservices/style-releases',
            'canary routing restored: nst/nst-style-canary has its pods back',
          ],
        },
        message: 'cluster brought in line with the release state',
      },
    ]);
  });

  it('a reconcile with nothing drifted reads the canary Deployment, re-applies the routing, scales nothing and logs nothing', async () => {
    const { sync: cluster, log } = sync();
    cluster.offer(canaryAt(10));
    await cluster.settled();
    seen = [];
    log.lines.length = 0;
    await cluster.reconcile();
    expect(calls()).toEqual([`GET ${canaryDeployment}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    // Pods fine: the canary stays routed, nothing held at stable.
    expect(routedSubsets(seen[2])).toEqual(['canary', 'stable']);
    expect(log.lines).toEqual([]);
    // Without a canary the idle track is not read or scaled again either.
    cluster.offer(stable);
    await cluster.settled();
    seen = [];
    log.lines.length = 0;
    await cluster.reconcile();
    expect(calls()).toEqual([`PATCH ${DR}`, `PATCH ${VS}`]);
    expect(log.lines).toEqual([]);
  });

  it('canary pods lost during a live canary: the next reconcile holds every style at stable at once, then restores the canary routing once they are back', async () => {
    const { sync: cluster, log } = sync();
    const offered = canaryAt(10);
    cluster.offer(offered);
    await cluster.settled();
    seen = [];
    log.lines.length = 0;
    losePodsUntilRead(3);
    await cluster.reconcile();
    expect(calls()).toEqual([`GET ${canaryDeployment}`, `PATCH ${DR}`, `PATCH ${VS}`, `GET ${canaryDeployment}`, `GET ${canaryDeployment}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    // Held: mosaic's every call to the stable subset with its stable version, hatch unchanged.
    expect(routesOf(seen[2])).toEqual({
      pinned: [['stable', undefined]],
      'hatch-stable': [['stable', '2']],
      'mosaic-stable': [['stable', '1']],
      unrouted: [['stable', undefined]],
    });
    expect(routesOf(seen[6])).toMatchObject({ 'mosaic-sticky-canary': [['canary', '2']], 'mosaic-weighted': [['stable', '1'], ['canary', '2']] });
    expect(log.lines.map((l) => [l.level, l.message, l.fields['cause'], l.fields['changes']])).toEqual([
      [
        'warn',
        'canary track has no available pods: every style routed to stable until they are back',
        'reconcile',
        ['canary track nst/nst-style-canary has 0 of 1 replicas available: every style held at stable until it has', 'applied virtualservices/style-releases'],
      ],
      [
        'info',
        'cluster brought in line with the release state',
        'reconcile',
        ['nst/nst-style-canary has 1 replicas available', 'applied virtualservices/style-releases', 'canary routing restored: nst/nst-style-canary has its pods back'],
      ],
    ]);
    // The release state itself is untouched: the canary is still at 10%.
    expect(offered).toEqual(canaryAt(10));
  });

  it('canary pods lost past the readiness timeout: routing stays held at stable, later reconciles wait without re-applying, and restore it once they are back', async () => {
    const { sync: cluster, log } = sync({ readyTimeoutMs: 100, pollMs: 10 });
    cluster.offer(canaryAt(25));
    await cluster.settled();
    seen = [];
    log.lines.length = 0;
    losePodsUntilRead(Number.POSITIVE_INFINITY);
    await cluster.reconcile();
    expect(calls().filter((c) => !c.startsWith('GET '))).toEqual([`PATCH ${DR}`, `PATCH ${VS}`]);
    expect(routedSubsets(seen[2])).toEqual(['stable']);
    expect(log.lines.map((l) => l.level)).toEqual(['warn', 'warn']);
    expect(log.lines[1]?.fields['err']).toBeInstanceOf(CanaryNotReadyError);
    expect(String(log.lines[1]?.fields['err'])).toMatch(/has 0 of 1 replicas available after 0 s; every style stays routed to stable until they are/);

    seen = [];
    log.lines.length = 0;
    await cluster.reconcile();
    expect(calls().filter((c) => !c.startsWith('GET '))).toEqual([]);
    expect(log.lines.map((l) => [l.level, l.fields['err'] instanceof CanaryNotReadyError])).toEqual([['warn', true]]);

    readyAfterReads = 0;
    seen = [];
    log.lines.length = 0;
    await cluster.reconcile();
    expect(calls()).toEqual([`GET ${canaryDeployment}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    expect(routedSubsets(seen[2])).toEqual(['canary', 'stable']);
    expect(log.lines.map((l) => [l.level, l.fields['changes']])).toEqual([
      ['info', ['applied virtualservices/style-releases', 'canary routing restored: nst/nst-style-canary has its pods back']],
    ]);
  });

  it('a reconcile puts back a hand-edited VirtualService and logs that it did', async () => {
    const { sync: cluster, log } = sync();
    cluster.offer(canaryAt(10));
    await cluster.settled();
    objects.set(VS, { spec: '{"http":[]}', resourceVersion: 41 });
    log.lines.length = 0;
    await cluster.reconcile();
    expect(objects.get(VS)?.resourceVersion).toBe(42);
    expect(log.lines.map((l) => [l.level, l.fields['changes']])).toEqual([['info', ['applied virtualservices/style-releases']]]);
  });

  it('after a CanaryNotReadyError the next reconcile routes to the canary once its pods are available', async () => {
    const { sync: cluster, log } = sync({ readyTimeoutMs: 100, pollMs: 10 });
    cluster.offer(stable);
    await cluster.settled();
    readyAfterReads = Number.POSITIVE_INFINITY;
    seen = [];
    cluster.offer(canaryAt(10));
    await cluster.settled();
    expect(calls()).not.toContain(`PATCH ${VS}`);
    expect(log.lines.at(-1)?.level).toBe('error');
    expect(log.lines.at(-1)?.fields['err']).toBeInstanceOf(CanaryNotReadyError);
    expect(log.lines.at(-1)?.message).toMatch(/could not be applied to the cluster; retried on the next rollout change/);

    // Pods still not available: the reconcile waits again and still routes nothing there.
    seen = [];
    await cluster.reconcile();
    expect(calls().filter((c) => !c.startsWith('GET '))).toEqual([]);
    expect(log.lines.at(-1)?.level).toBe('warn');
    expect(log.lines.at(-1)?.fields['err']).toBeInstanceOf(CanaryNotReadyError);

    readyAfterReads = 0;
    seen = [];
    await cluster.reconcile();
    expect(calls()).toEqual([`GET ${canaryDeployment}`, `PATCH ${DR}`, `PATCH ${VS}`]);
    expect(routedSubsets(seen[2])).toEqual(['canary', 'stable']);
  });

  it('a failed reconcile is a warning', async () => {
    const { sync: cluster, log } = sync();
    cluster.offer(stable);
    await cluster.settled();
    failNext = 1;
    log.lines.length = 0;
    await cluster.reconcile();
    expect(log.lines.map((l) => [l.level, l.message])).toEqual([['warn', expect.stringMatching(/^reconcile could not bring the cluster in line/)]]);
  });

  it('a newer state cuts short the wait for canary pods of an older one: a rollback during the wait routes to stable at once', async () => {
    const { sync: cluster, log } = sync({ readyTimeoutMs: 60_000, pollMs: 10 });
    cluster.offer(stable);
    await cluster.settled();
    readyAfterReads = Number.POSITIVE_INFINITY;
    seen = [];
    cluster.offer(canaryAt(10));
    await vi.waitFor(() => expect(calls().filter((c) => c === `GET ${canaryDeployment}`).length).toBeGreaterThan(2));
    const started = Date.now();
    cluster.offer(state(record({ phase: 'rolled_back' }), record({ style: 'hatch', stableVersion: '2' })));
    await cluster.settled();
    expect(Date.now() - started).toBeLessThan(5_000);
    const writes = calls().filter((c) => !c.startsWith('GET '));
    expect(writes).toEqual([`PATCH ${canaryDeployment}/scale`, `PATCH ${DR}`, `PATCH ${VS}`, `PATCH ${canaryDeployment}/scale`]);
    expect(routedSubsets(seen.findLast((s) => s.path === VS))).toEqual(['stable']);
    expect(log.lines.filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('runs one pass at a time: a reconcile during a pass is skipped, and states offered meanwhile collapse to the newest', async () => {
    const applied: string[] = [];
    let inFlight = 0;
    let release: () => void = () => undefined;
    const apply: IstioApplier = async (s) => {
      inFlight++;
      expect(inFlight).toBe(1);
      applied.push(String(s.rollouts['mosaic']?.canaryWeight));
      await new Promise<void>((resolve) => (release = resolve));
      inFlight--;
      return [];
    };
    const cluster = new ClusterSync({ apply, reconcileMs: 0, logger: recordingLogger().logger });
    cluster.offer(canaryAt(10));
    expect(await cluster.reconcile()).toBe(false);
    cluster.offer(canaryAt(25));
    cluster.offer(canaryAt(50));
    release();
    await vi.waitFor(() => expect(applied).toEqual(['10', '50']));
    release();
    await cluster.settled();
    expect(applied).toEqual(['10', '50']);
  });

  it('reconciles every reconcileMs once started, and not after stop', async () => {
    let passes = 0;
    const apply: IstioApplier = () => Promise.resolve((passes++, []));
    const cluster = new ClusterSync({ apply, reconcileMs: 20, logger: recordingLogger().logger });
    cluster.start();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(passes).toBe(0); // nothing offered yet: nothing to reconcile to
    cluster.offer(stable);
    await vi.waitFor(() => expect(passes).toBeGreaterThanOrEqual(3));
    await cluster.stop();
    const stopped = passes;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(passes).toBe(stopped);
  });
});

/**
 * Every overlay, rendered by kustomize, validates against the Kubernetes, Istio and External
 * Secrets schemas, and its objects refer to each other consistently: what a Service selects,
 * what a probe dials, which subsets routes use, which images the build produces.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { hasTool, needTool } from '@nst/runtime/test-tools';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { GATEWAY_SETTINGS } from '@nst/gateway/config';
import { STYLE_SETTINGS } from '@nst/inference/config';
import { RELEASE_SETTINGS } from '@nst/mesh/config';
import { CORE_SETTINGS, settingsLoader, STORE_SETTINGS } from '@nst/runtime/config';
import { jobThreads, TRAINER_SETTINGS } from '@nst/trainer/config';
import { REPO_DIR, ROUTING_FILE } from './render';
import { validateObject } from './schemas';
import { OVERLAYS, renderOverlay, type K8sObject, type Overlay } from './tools';

const execFileAsync = promisify(execFile);

/** The APM server's port, from the settings file both compose and the cluster mount. */
const APM_PORT = Number(
  /host:\s*"?[^":]*:(\d+)"?/.exec(readFileSync(join(REPO_DIR, 'k8s/base/observability/apm-server.yml'), 'utf8'))?.[1] ?? NaN,
);

/** The settings' defaults, which a manifest's env overrides. */
/** Every setting of every service, from an environment (the defaults from an empty one). */
const loadConfig = settingsLoader([CORE_SETTINGS, STORE_SETTINGS, STYLE_SETTINGS, TRAINER_SETTINGS, RELEASE_SETTINGS, GATEWAY_SETTINGS]);
const defaults = loadConfig({});

const haveKubectl = needTool('Kubernetes manifest checks', 'kubectl (kustomize)', hasTool('kubectl', ['version', '--client']));

type Labels = Record<string, string>;
interface Port { name?: string; containerPort: number }
interface Probe { grpc?: { port: number }; httpGet?: { port: number | string }; tcpSocket?: { port: number | string } }
interface Container {
  name: string;
  image: string;
  ports?: Port[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
  envFrom?: { configMapRef?: { name: string } }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string }; resourceFieldRef?: { containerName?: string; resource: string } };
  }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; configMap?: { name: string } }[];
}
interface Workload { kind: string; name: string; labels: Labels; pod: PodSpec; replicas?: number }

/** A CPU quantity ("2", "500m") in cores. */
const cores = (quantity: string): number => (quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity));

const spec = <T>(object: K8sObject): T => (object as unknown as { spec: T }).spec;
const matches = (selector: Labels, labels: Labels): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

function workloads(objects: K8sObject[]): Workload[] {
  return objects.flatMap((o) => {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet' && o.kind !== 'Job') return [];
    const s = spec<{ replicas?: number; template: { metadata?: { labels?: Labels }; spec: PodSpec } }>(o);
    return [{ kind: o.kind, name: o.metadata.name, labels: s.template.metadata?.labels ?? {}, pod: s.template.spec, replicas: s.replicas }];
  });
}

/** The images the build produces: Jenkinsfile's IMAGES list, compose's built services, docker/*.Dockerfile. */
async function builtImages(): Promise<{ jenkins: string[]; compose: string[]; dockerfiles: string[] }> {
  const jenkinsfile = await readFile(join(REPO_DIR, 'Jenkinsfile'), 'utf8');
  const list = /IMAGES\s*=\s*\[([^\]]*)\]/.exec(jenkinsfile)?.[1] ?? '';
  const jenkins = [...list.matchAll(/'([a-z0-9-]+)'/g)].map((m) => `nst/${m[1]}`).sort();
  const compose = parse(await readFile(join(REPO_DIR, 'compose.yaml'), 'utf8')) as { services: Record<string, { image?: string; build?: unknown }> };
  const composeImages = [...new Set(Object.values(compose.services).filter((s) => s.build).map((s) => (s.image ?? '').replace(/:.*$/, '')))].sort();
  const dockerfiles = (await readdir(join(REPO_DIR, 'docker'))).filter((f) => f.endsWith('.Dockerfile')).map((f) => `nst/${f.replace(/\.Dockerfile$/, '')}`).sort();
  return { jenkins, compose: composeImages, dockerfiles };
}

/** Every rpc of every service in proto/nst/v1, as gRPC paths. */
async function rpcPaths(): Promise<Set<string>> {
  const dir = join(REPO_DIR, 'proto/nst/v1');
  const paths = new Set<string>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.proto'))) {
    const text = await readFile(join(dir, file), 'utf8');
    for (const service of text.matchAll(/service\s+(\w+)\s*\{([\s\S]*?)\n\}/g)) {
      for (const rpc of service[2]!.matchAll(/rpc\s+(\w+)\s*\(/g)) paths.add(`/nst.v1.${service[1]}/${rpc[1]}`);
    }
  }
  return paths;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Envoy's schema is not typed here
type EnvoyCluster = any;
interface EnvoyUpstream { cluster: string; host: string; port: number; protocol: 'grpc' | 'http' }

/**
 * Each endpoint every cluster of an Envoy config dials, and what it speaks to it; not the
 * loopback cluster to Envoy's own otlp_export listener (envoy-config.test.ts follows that one).
 */
function envoyUpstreams(text: string): EnvoyUpstream[] {
  const config = parse(text) as { static_resources: { clusters: EnvoyCluster[] } };
  const loopback = (cluster: EnvoyCluster): boolean =>
    cluster.load_assignment.endpoints[0].lb_endpoints.every((lb: EnvoyCluster) => lb.endpoint.address.socket_address.address === '127.0.0.1');
  return config.static_resources.clusters.filter((cluster: EnvoyCluster) => !loopback(cluster)).flatMap((cluster: EnvoyCluster) => {
    const options = cluster.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    const protocol = options?.explicit_http_config?.http2_protocol_options ? 'grpc' : 'http';
    return cluster.load_assignment.endpoints.flatMap((e: EnvoyCluster) => e.lb_endpoints).map((lb: EnvoyCluster) => {
      const { address, port_value } = lb.endpoint.address.socket_address;
      return { cluster: cluster.name as string, host: address as string, port: port_value as number, protocol };
    });
  });
}

/**
 * What the server in each image speaks on the port its Service targets, which a Service's
 * appProtocol must say (Istio picks the protocol it speaks to the pod from it; `grpc-web`
 * counts as HTTP/2 there, so Istio would send h2c, and it adds its own grpc_web filter):
 * the services are gRPC servers; the gateway is fastify over HTTP/1.1 (checked below from
 * its source); Envoy's listener does its own gRPC-Web translation and takes HTTP/1.1;
 * Elasticsearch, Kibana and the APM server are HTTP/1.1 servers.
 */
const IMAGE_SPEAKS: Record<string, 'grpc' | 'http'> = {
  'nst/style': 'grpc',
  'nst/trainer': 'grpc',
  'nst/release': 'grpc',
  'nst/gateway': 'http',
  'envoyproxy/envoy': 'http',
  'docker.elastic.co/elasticsearch/elasticsearch': 'http',
  'docker.elastic.co/kibana/kibana': 'http',
  'docker.elastic.co/apm/apm-server': 'http',
};
const imageName = (image: string): string => image.replace(/:[^/]*$/, '');

describe.skipIf(!haveKubectl).each(OVERLAYS)('the %s overlay', (overlay: Overlay) => {
  let objects: K8sObject[] = [];
  // What `kubectl apply -k` applies, without what ReleaseService applies itself.
  let applied: K8sObject[] = [];
  const byKind = (kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
  beforeAll(async () => {
    applied = await renderOverlay(overlay);
    // The cluster as it runs: the overlay, and StyleService's routing, which ReleaseService
    // applies at its first pass from the rollout state (the generated file: the initial one).
    const routing = parseAllDocuments(await readFile(ROUTING_FILE, 'utf8')).map((d) => d.toJS() as K8sObject).filter(Boolean);
    objects = [...applied, ...routing];
  }, 60_000);

  it("leaves StyleService's routing to ReleaseService: applying the overlay never resets a live canary split", () => {
    const owned = applied.filter((o) => o.kind === 'DestinationRule' || (o.kind === 'VirtualService' && JSON.stringify(o).includes('nst-style')));
    expect(owned.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it('renders every part of the platform into namespace nst', () => {
    const names = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const expected of [
      'Deployment/nst-style-stable', 'Deployment/nst-style-canary', 'Deployment/nst-trainer', 'Deployment/nst-release',
      'Deployment/nst-gateway', 'Deployment/nst-envoy', 'StatefulSet/nst-elasticsearch', 'Deployment/nst-kibana', 'Deployment/nst-apm-server',
      'HorizontalPodAutoscaler/nst-style-stable', 'PersistentVolumeClaim/nst-trainer-data', 'PersistentVolumeClaim/nst-release-data', 'PeerAuthentication/default',
      'RequestAuthentication/nst-operator-jwt', 'AuthorizationPolicy/nst-admin-calls', 'EnvoyFilter/nst-client-bucket',
      'VirtualService/nst-style-releases', 'DestinationRule/nst-style-releases', 'Gateway/nst-ingress',
      'Role/nst-training-launcher', 'RoleBinding/nst-trainer-launches-training',
    ]) expect(names, expected).toContain(expected);
    for (const o of objects) if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('nst');
  });

  it('validates every object against its schema', async () => {
    for (const object of objects) await validateObject(object);
  });

  it('the schema check can fail: a container port given as text is refused', async () => {
    const deployment = structuredClone(objects.find((o) => o.metadata.name === 'nst-trainer' && o.kind === 'Deployment')!);
    spec<{ template: { spec: PodSpec } }>(deployment).template.spec.containers[0]!.ports![0]!.containerPort = 'fifty' as unknown as number;
    await expect(validateObject(deployment)).rejects.toThrow(/containerPort/);
  });

  it('every Service selects the pods of a workload, on a port those pods declare', () => {
    const pods = workloads(objects);
    for (const service of byKind('Service')) {
      const s = spec<{ selector: Labels; ports: { name: string; port: number; targetPort: number | string; appProtocol?: string }[] }>(service);
      const selected = pods.filter((w) => matches(s.selector, w.labels));
      expect(selected.length, `Service ${service.metadata.name} selects no pods`).toBeGreaterThan(0);
      for (const port of s.ports) {
        expect(['grpc', 'http'], `Service ${service.metadata.name} port name`).toContain(port.name);
        expect(port.appProtocol, `Service ${service.metadata.name} appProtocol`).toBe(port.name);
        for (const w of selected) {
          const declared = w.pod.containers.flatMap((c) => c.ports ?? []);
          const found = declared.some((p) => (typeof port.targetPort === 'number' ? p.containerPort === port.targetPort : p.name === port.targetPort));
          expect(found, `Service ${service.metadata.name} targets ${port.targetPort}, missing on ${w.name}`).toBe(true);
        }
      }
    }
  });

  it("every Service port's appProtocol is what the server behind it speaks", async () => {
    // The gateway is fastify without the http2 option: HTTP/1.1 only.
    const gateway = await readFile(join(REPO_DIR, 'gateway/src/gateway.ts'), 'utf8');
    expect(/Fastify\(\{[\s\S]*?\n {2}\}\);/.exec(gateway)?.[0], 'the gateway creates its fastify server').toBeDefined();
    expect(/Fastify\(\{[\s\S]*?\n {2}\}\);/.exec(gateway)![0]).not.toMatch(/http2/);
    // Envoy translates gRPC-Web itself (its grpc_web filter), so Istio must not add another.
    const envoy = byKind('ConfigMap').find((o) => o.metadata.name.startsWith('nst-envoy-config'))!;
    expect(JSON.stringify(envoy)).toContain('envoy.filters.http.grpc_web');
    const pods = workloads(objects);
    for (const service of byKind('Service')) {
      const s = spec<{ selector: Labels; ports: { port: number; targetPort: number | string; appProtocol?: string }[] }>(service);
      for (const port of s.ports) {
        for (const w of pods.filter((p) => matches(s.selector, p.labels))) {
          for (const c of w.pod.containers) {
            const targeted = (c.ports ?? []).some((p) => (typeof port.targetPort === 'number' ? p.containerPort === port.targetPort : p.name === port.targetPort));
            if (!targeted) continue;
            const speaks = IMAGE_SPEAKS[imageName(c.image)];
            expect(speaks, `what ${c.image} speaks`).toBeDefined();
            expect(port.appProtocol, `Service ${service.metadata.name}:${port.port} -> ${w.name}/${c.name} (${c.image})`).toBe(speaks);
          }
        }
      }
    }
  });

  it('every Envoy cluster dials a Service of the overlay, on its port, in the protocol the port declares', () => {
    const envoy = byKind('ConfigMap').find((o) => o.metadata.name.startsWith('nst-envoy-config'));
    const text = (envoy as unknown as { data?: Record<string, string> } | undefined)?.data?.['envoy.yaml'];
    expect(text, 'the nst-envoy-config ConfigMap holds envoy.yaml').toBeDefined();
    const upstreams = envoyUpstreams(text!);
    expect(upstreams.length).toBeGreaterThan(0);
    for (const upstream of upstreams) {
      const service = byKind('Service').find((o) => o.metadata.name === upstream.host.replace(/\.nst(\.svc(\.cluster\.local)?)?$/, ''));
      expect(service, `Envoy cluster ${upstream.cluster} dials ${upstream.host}, which is no Service`).toBeDefined();
      const port = spec<{ ports: { port: number; appProtocol?: string }[] }>(service!).ports.find((p) => p.port === upstream.port);
      expect(port, `Envoy cluster ${upstream.cluster} dials ${upstream.host}:${upstream.port}, a port the Service lacks`).toBeDefined();
      expect(port!.appProtocol, `Envoy cluster ${upstream.cluster} speaks ${upstream.protocol}`).toBe(upstream.protocol);
    }
  });

  it('every probe dials a port its container declares; gRPC services use native gRPC probes', () => {
    for (const w of workloads(objects)) {
      for (const c of w.pod.containers) {
        const ports = c.ports ?? [];
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
          if (!probe) continue;
          const target = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
          const found = ports.some((p) => (typeof target === 'number' ? p.containerPort === target : p.name === target));
          expect(found, `${w.name}/${c.name} probes port ${String(target)}`).toBe(true);
        }
        if (ports.some((p) => p.name === 'grpc')) {
          expect(c.readinessProbe?.grpc, `${w.name} readiness over grpc.health.v1`).toBeDefined();
          expect(c.livenessProbe?.grpc, `${w.name} liveness over grpc.health.v1`).toBeDefined();
        }
        expect(c.readinessProbe && c.livenessProbe, `${w.name}/${c.name} has readiness and liveness probes`).toBeTruthy();
      }
    }
  });

  it("Istio's proxy runs as a native sidecar in every injected pod, so init containers reach the mesh and the app drains first", async () => {
    // A classic sidecar starts after the init containers (Kibana's, dialing Elasticsearch
    // through STRICT mTLS, looped forever), may start after the app (which then finds its
    // stores unreachable) and drains in 5 s on SIGTERM whatever the pod's grace period.
    const namespace = byKind('Namespace').find((o) => o.metadata.name === 'nst');
    expect(namespace?.metadata.labels?.['istio-injection']).toBe('enabled');
    const job = parse(await readFile(join(REPO_DIR, 'k8s/jobs/finetune-job.yaml'), 'utf8')) as K8sObject;
    for (const o of [...objects, job]) {
      if (!['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) continue;
      const annotations = spec<{ template: { metadata?: { annotations?: Record<string, string> } } }>(o).template.metadata?.annotations ?? {};
      if (annotations['sidecar.istio.io/inject'] === 'false') continue;
      expect(annotations['sidecar.istio.io/nativeSidecar'], `${o.kind}/${o.metadata.name ?? 'finetune'} native sidecar`).toBe('true');
    }
  });

  it("every platform pod drains as long as its app may: the app waits for its proxy, the proxy drains at least the app's drain, and the grace period holds both", () => {
    // The services drain for NST_DRAIN_SECONDS on SIGTERM; Envoy keeps serving through its
    // preStop sleep. Istio's proxy drains 5 s unless told otherwise (which cut StylizeImage
    // streams where native sidecars are not honoured), and with native sidecars it drains
    // after the app, so the grace period must hold the app's drain and then the proxy's.
    const sharedConfig = new Map<string, string>();
    for (const cm of byKind('ConfigMap').filter((o) => o.metadata.name.startsWith('nst-config'))) {
      for (const [k, v] of Object.entries((cm as unknown as { data: Record<string, string> }).data)) sharedConfig.set(k, v);
    }
    const seconds = (duration: string): number => {
      const match = /^([0-9.]+)(ms|s|m)$/.exec(duration);
      expect(match, `a duration: ${duration}`).not.toBeNull();
      return Number(match![1]) * { ms: 0.001, s: 1, m: 60 }[match![2] as 'ms' | 's' | 'm'];
    };
    const checked: string[] = [];
    for (const o of byKind('Deployment')) {
      const template = spec<{ template: { metadata?: { annotations?: Record<string, string> }; spec: PodSpec & { terminationGracePeriodSeconds?: number } } }>(o).template;
      const app = template.spec.containers[0]! as Container & { lifecycle?: { preStop?: { exec?: { command: string[] } } } };
      const image = imageName(app.image);
      let appDrain: number;
      if (image.startsWith('nst/')) {
        const env = new Map<string, string>(sharedConfig);
        for (const e of app.env ?? []) if (e.value !== undefined) env.set(e.name, e.value);
        appDrain = loadConfig(Object.fromEntries(env)).drainSeconds;
      } else if (image === 'envoyproxy/envoy') {
        const command = app.lifecycle?.preStop?.exec?.command ?? [];
        expect(command[0], `${o.metadata.name} sleeps before Envoy's SIGTERM`).toBe('sleep');
        appDrain = Number(command[1]);
        expect(appDrain, 'Envoy serves as long as the services drain').toBeGreaterThanOrEqual(defaults.drainSeconds);
      } else {
        continue;
      }
      const proxyConfig = parse(template.metadata?.annotations?.['proxy.istio.io/config'] ?? '{}') as {
        holdApplicationUntilProxyStarts?: boolean;
        terminationDrainDuration?: string;
      };
      expect(proxyConfig.holdApplicationUntilProxyStarts, `${o.metadata.name}: the app starts after its proxy`).toBe(true);
      const proxyDrain = seconds(proxyConfig.terminationDrainDuration ?? '5s');
      expect(proxyDrain, `${o.metadata.name}: the proxy drains at least the app's ${appDrain} s`).toBeGreaterThanOrEqual(appDrain);
      const grace = template.spec.terminationGracePeriodSeconds ?? 30;
      expect(grace, `${o.metadata.name}: ${appDrain} s of app drain and ${proxyDrain} s of proxy drain fit the grace period`).toBeGreaterThanOrEqual(appDrain + proxyDrain);
      checked.push(o.metadata.name);
    }
    expect(checked.sort()).toEqual(['nst-envoy', 'nst-gateway', 'nst-release', 'nst-style-canary', 'nst-style-stable', 'nst-trainer']);
  });

  it('every container has requests and limits, and runs without privilege escalation', () => {
    for (const w of workloads(objects)) {
      expect(w.pod.securityContext?.runAsNonRoot, `${w.name} runs as non-root`).toBe(true);
      for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
        for (const key of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[key], `${w.name}/${c.name} requests ${key}`).toBeDefined();
          expect(c.resources?.limits?.[key], `${w.name}/${c.name} limits ${key}`).toBeDefined();
        }
        expect(c.securityContext?.allowPrivilegeEscalation, `${w.name}/${c.name}`).toBe(false);
      }
    }
  });

  it("the trainer's jobs train on the cores its pod is promised, and all of them together stay within its CPU limit", () => {
    const trainer = workloads(objects).find((w) => w.name === 'nst-trainer');
    const container = trainer?.pod.containers.find((c) => c.name === 'trainer');
    expect(container, 'the nst-trainer Deployment runs a trainer container').toBeDefined();
    const env = new Map((container!.env ?? []).map((e) => [e.name, e]));
    // Left to "auto", the job would count the node's cores, not the pod's, and be throttled.
    expect(env.get('NST_TRAIN_THREADS')?.valueFrom?.resourceFieldRef, 'NST_TRAIN_THREADS comes from the pod\'s CPU request').toEqual({
      containerName: 'trainer',
      resource: 'requests.cpu',
    });
    const { requests, limits } = container!.resources!;
    // The Downward API rounds a CPU quantity up to whole cores (divisor 1).
    const threads = Math.ceil(cores(requests!['cpu']!));
    const config = loadConfig({ NST_TRAIN_THREADS: String(threads), NST_TRAINER_CONCURRENCY: env.get('NST_TRAINER_CONCURRENCY')?.value ?? '' });
    expect(jobThreads(config) * config.trainerConcurrency, `${config.trainerConcurrency} job(s) of ${threads} threads`).toBeLessThanOrEqual(cores(limits!['cpu']!));
  });

  it('references resolve: ConfigMaps, Secret keys, ServiceAccounts, volume claims, HPA and budget targets', () => {
    const names = (kind: string) => new Set(byKind(kind).map((o) => o.metadata.name));
    const configMaps = names('ConfigMap');
    const accounts = names('ServiceAccount');
    const claims = names('PersistentVolumeClaim');
    // The Secret nst-secrets: generated in dev, synced by an ExternalSecret in prod.
    const secretKeys = new Map<string, Set<string>>();
    for (const s of byKind('Secret')) secretKeys.set(s.metadata.name, new Set(Object.keys((s as unknown as { data: object }).data)));
    for (const e of byKind('ExternalSecret')) {
      const es = spec<{ target: { name: string }; data: { secretKey: string }[] }>(e);
      secretKeys.set(es.target.name, new Set(es.data.map((d) => d.secretKey)));
    }
    expect(secretKeys.size, 'a Secret or ExternalSecret provides nst-secrets').toBe(1);
    for (const w of workloads(objects)) {
      if (w.pod.serviceAccountName) expect(accounts, `${w.name} service account`).toContain(w.pod.serviceAccountName);
      for (const v of w.pod.volumes ?? []) {
        if (v.persistentVolumeClaim) expect(claims, `${w.name} claim`).toContain(v.persistentVolumeClaim.claimName);
        if (v.configMap) expect(configMaps, `${w.name} config map`).toContain(v.configMap.name);
      }
      for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
        for (const from of c.envFrom ?? []) if (from.configMapRef) expect(configMaps).toContain(from.configMapRef.name);
        for (const env of c.env ?? []) {
          const ref = env.valueFrom?.secretKeyRef;
          if (ref) expect(secretKeys.get(ref.name), `${w.name}/${c.name} ${env.name} -> ${ref.name}/${ref.key}`).toContain(ref.key);
        }
      }
    }
    const pods = workloads(objects);
    for (const hpa of byKind('HorizontalPodAutoscaler')) {
      const h = spec<{ scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number }>(hpa);
      expect(pods.some((w) => w.kind === h.scaleTargetRef.kind && w.name === h.scaleTargetRef.name)).toBe(true);
      expect(h.maxReplicas).toBe(5);
      expect(h.minReplicas).toBeGreaterThanOrEqual(1);
    }
    for (const pdb of byKind('PodDisruptionBudget')) {
      const selector = spec<{ selector: { matchLabels: Labels } }>(pdb).selector.matchLabels;
      expect(pods.some((w) => matches(selector, w.labels)), `budget ${pdb.metadata.name}`).toBe(true);
    }
    for (const binding of byKind('RoleBinding')) {
      const b = binding as unknown as { roleRef: { name: string }; subjects: { name: string }[] };
      expect(names('Role')).toContain(b.roleRef.name);
      for (const subject of b.subjects) expect(accounts).toContain(subject.name);
    }
  });

  it('NetworkPolicies and AuthorizationPolicies name workloads and accounts that exist', () => {
    const pods = workloads(objects);
    const accounts = new Set(byKind('ServiceAccount').map((o) => o.metadata.name));
    for (const policy of byKind('NetworkPolicy')) {
      const p = spec<{ podSelector: { matchLabels?: Labels }; ingress?: { from?: { podSelector?: { matchLabels?: Labels } }[] }[] }>(policy);
      const selectors = [p.podSelector.matchLabels, ...(p.ingress ?? []).flatMap((rule) => (rule.from ?? []).map((f) => f.podSelector?.matchLabels))];
      for (const selector of selectors) {
        if (!selector || Object.keys(selector).length === 0) continue;
        // Training Jobs are created at run time from k8s/jobs/finetune-job.yaml (checked in jobs.test.ts).
        if (selector['nst.dev/role'] === 'training-job') continue;
        expect(pods.some((w) => matches(selector, w.labels)), `${policy.metadata.name} selects ${JSON.stringify(selector)}`).toBe(true);
      }
    }
    for (const policy of byKind('AuthorizationPolicy')) {
      const text = JSON.stringify(policy);
      for (const m of text.matchAll(/cluster\.local\/ns\/nst\/sa\/([a-z0-9-]+)/g)) expect(accounts).toContain(m[1]);
      for (const m of text.matchAll(/system:serviceaccount:nst:([a-z0-9-]+)/g)) expect(accounts).toContain(m[1]);
    }
  });

  it('admin paths in the AuthorizationPolicy are real rpcs, and cover every mutation', async () => {
    const rpcs = await rpcPaths();
    const policy = byKind('AuthorizationPolicy').find((o) => o.metadata.name === 'nst-admin-calls')!;
    const paths = spec<{ rules: { to: { operation: { paths: string[] } }[] }[] }>(policy).rules[0]!.to[0]!.operation.paths;
    for (const path of paths) expect(rpcs, path).toContain(path);
    for (const mutation of ['/nst.v1.TrainerService/FineTune', '/nst.v1.ReleaseService/Promote', '/nst.v1.ReleaseService/Rollback']) {
      expect(paths).toContain(mutation);
    }
  });

  it('Istio routes use subsets a DestinationRule defines, subsets select running pods, hosts are Services', () => {
    const services = new Set(byKind('Service').map((o) => `${o.metadata.name}.nst.svc.cluster.local`));
    const subsets = new Map<string, Labels>();
    for (const rule of byKind('DestinationRule')) {
      const r = spec<{ host: string; subsets: { name: string; labels: Labels }[] }>(rule);
      expect(services, `DestinationRule ${rule.metadata.name} host`).toContain(r.host);
      for (const s of r.subsets) subsets.set(`${r.host}/${s.name}`, s.labels);
    }
    const pods = workloads(objects);
    const running = (labels: Labels) => pods.some((w) => (w.replicas ?? 1) > 0 && matches(labels, w.labels));
    // Every subset selects a workload's pods; the canary track's may be scaled to 0 while no
    // route names it, so only the subsets routes use must select running pods.
    for (const [key, labels] of subsets) expect(pods.some((w) => matches(labels, w.labels)), `subset ${key} selects a workload's pods`).toBe(true);
    for (const vs of byKind('VirtualService')) {
      for (const route of spec<{ http: { name?: string; route: { destination: { host: string; subset?: string } }[] }[] }>(vs).http) {
        for (const { destination } of route.route) {
          expect(services, `VirtualService ${vs.metadata.name} host`).toContain(destination.host);
          if (!destination.subset) continue;
          const labels = subsets.get(`${destination.host}/${destination.subset}`);
          expect(labels, `subset ${destination.subset}`).toBeDefined();
          expect(running(labels!), `route ${route.name ?? ''} -> subset ${destination.subset} selects running pods`).toBe(true);
        }
      }
    }
  });

  it('only the generated VirtualService routes StyleService (no hand-kept copy of rollout state)', () => {
    const routing = byKind('VirtualService').filter((vs) => JSON.stringify(vs).includes('nst-style'));
    expect(routing.map((vs) => vs.metadata.name)).toEqual(['nst-style-releases']);
  });

  it('the stable and canary StyleService pods are the same but for their track label, and carry no version', () => {
    const [stable, canary] = ['nst-style-stable', 'nst-style-canary'].map((n) => workloads(objects).find((w) => w.name === n)!);
    expect(stable!.labels['nst.dev/track']).toBe('stable');
    expect(canary!.labels['nst.dev/track']).toBe('canary');
    // Every pod serves every version (x-nst-version picks); a version label would be a lie.
    const { 'nst.dev/track': _stableTrack, ...stableRest } = stable!.labels;
    const { 'nst.dev/track': _canaryTrack, ...canaryRest } = canary!.labels;
    expect(canaryRest).toEqual(stableRest);
    expect(Object.keys(stable!.labels).filter((k) => k.includes('version'))).toEqual([]);
    expect(canary!.pod).toEqual(stable!.pod);
    expect(canary!.replicas, 'the canary track idles at 0 until ReleaseService scales it').toBe(0);
  });

  it('ReleaseService may scale exactly the canary Deployment it is configured for, and nothing else', () => {
    const release = workloads(objects).find((w) => w.name === 'nst-release')!;
    const env = new Map(release.pod.containers[0]!.env?.map((e) => [e.name, (e as { value?: string }).value]));
    expect(env.get('NST_RELEASE_MODE')).toBe('cluster');
    expect(env.get('NST_AUTO_RELEASE')).toBe('true');
    const canaryName = env.get('NST_CLUSTER_CANARY_DEPLOYMENT') ?? defaults.clusterCanaryDeployment;
    const canary = workloads(objects).find((w) => w.kind === 'Deployment' && w.name === canaryName);
    expect(canary?.labels['nst.dev/track'], `${canaryName} is the canary track`).toBe('canary');

    type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };
    const bound = byKind('RoleBinding')
      .map((b) => b as unknown as { roleRef: { name: string }; subjects: { name: string }[] })
      .filter((b) => b.subjects.some((s) => s.name === release.pod.serviceAccountName))
      .map((b) => b.roleRef.name);
    const rules = byKind('Role')
      .filter((r) => bound.includes(r.metadata.name))
      .flatMap((r) => (r as unknown as { rules: Rule[] }).rules);
    const apps = rules.filter((r) => r.apiGroups.includes('apps'));
    expect(apps).toEqual([
      { apiGroups: ['apps'], resources: ['deployments/scale'], resourceNames: [canaryName], verbs: ['get', 'patch'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [canaryName], verbs: ['get'] },
    ]);
    expect(rules.filter((r) => !r.apiGroups.includes('apps')).every((r) => r.apiGroups.join() === 'networking.istio.io')).toBe(true);
  });

  it('shares no volume: every claim is ReadWriteOnce and mounted by one single-replica Recreate Deployment, and StyleService mounts none', () => {
    // Each service owns its state; the others ask it over gRPC (WatchVersions, FetchModel, KeepPhoto, WatchRollouts).
    const claims = byKind('PersistentVolumeClaim');
    const pods = workloads(objects);
    for (const claim of claims) {
      expect(spec<{ accessModes: string[] }>(claim).accessModes, `claim ${claim.metadata.name}`).toEqual(['ReadWriteOnce']);
      const mounting = pods.filter((w) => (w.pod.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name));
      expect(mounting.map((w) => w.name), `workloads mounting ${claim.metadata.name}`).toHaveLength(1);
      const deployment = byKind('Deployment').find((d) => d.metadata.name === mounting[0]?.name);
      expect(deployment, `${claim.metadata.name} is mounted by a Deployment`).toBeDefined();
      const d = spec<{ replicas?: number; strategy?: { type?: string } }>(deployment!);
      expect([d.replicas, d.strategy?.type], `${deployment!.metadata.name} replicas and strategy`).toEqual([1, 'Recreate']);
    }
    expect(claims.map((c) => c.metadata.name).sort()).toEqual(['nst-release-data', 'nst-trainer-data']);
    for (const inference of pods.filter((w) => w.labels['app.kubernetes.io/name'] === 'nst-style')) {
      expect((inference.pod.volumes ?? []).filter((v) => v.persistentVolumeClaim), inference.name).toEqual([]);
    }
  });

  it('no disruption budget blocks a node drain, and replicated request-path pods prefer different nodes', () => {
    const pods = workloads(objects);
    const minReplicas = (w: Workload): number => {
      const hpa = byKind('HorizontalPodAutoscaler').find((h) => spec<{ scaleTargetRef: { name: string } }>(h).scaleTargetRef.name === w.name);
      return hpa ? spec<{ minReplicas: number }>(hpa).minReplicas : (w.replicas ?? 1);
    };
    for (const pdb of byKind('PodDisruptionBudget')) {
      const b = spec<{ selector: { matchLabels: Labels }; minAvailable?: number | string | null; maxUnavailable?: number | string }>(pdb);
      const selected = pods.filter((w) => w.replicas !== 0 && matches(b.selector.matchLabels, w.labels));
      const replicas = selected.reduce((sum, w) => sum + minReplicas(w), 0);
      if (typeof b.minAvailable === 'number') expect(b.minAvailable, `budget ${pdb.metadata.name} over ${replicas} replicas`).toBeLessThan(replicas);
      else expect(b.maxUnavailable, `budget ${pdb.metadata.name}`).toBeGreaterThanOrEqual(1);
    }
    for (const w of pods.filter((p) => p.kind === 'Deployment' && minReplicas(p) >= 2)) {
      type Term = { topologyKey: string; labelSelector: { matchLabels: Labels } };
      const anti = (w.pod as unknown as { affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: Term }[]; requiredDuringSchedulingIgnoredDuringExecution?: Term[] } } }).affinity?.podAntiAffinity;
      const terms = [...(anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => t.podAffinityTerm), ...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? [])];
      expect(terms.some((t) => t.topologyKey === 'kubernetes.io/hostname' && matches(t.labelSelector.matchLabels, w.labels)), `${w.name} (${minReplicas(w)} replicas) spreads over nodes`).toBe(true);
    }
  });

  it('only the trainer mounts the registry writable', () => {
    for (const w of workloads(objects)) {
      for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
        for (const m of c.volumeMounts ?? []) {
          if (m.subPath !== 'registry') continue;
          expect(m.readOnly === true || w.name === 'nst-trainer', `${w.name}/${c.name} mounts the registry writable`).toBe(true);
        }
      }
    }
  });

  it('one name per service: the image nst/<name> runs <name>, is labelled and traced as nst-<name>, in the cluster and in compose', async () => {
    // Which service each image runs: the key its entry point's runServiceProcess names (npm start's key too).
    const keyOf = new Map<string, string>();
    for (const file of (await readdir(join(REPO_DIR, 'docker'))).filter((f) => f.endsWith('.Dockerfile'))) {
      const main = /^ENTRYPOINT \[.*"([a-z0-9-]+\/src\/main\.ts)"\]/m.exec(await readFile(join(REPO_DIR, 'docker', file), 'utf8'))?.[1];
      const key = /runServiceProcess\(\{\s*key: '([a-z]+)'/.exec(await readFile(join(REPO_DIR, main!), 'utf8'))?.[1];
      keyOf.set(`nst/${file.replace(/\.Dockerfile$/, '')}`, key!);
    }
    expect([...keyOf].filter(([image, key]) => image !== `nst/${key}`), 'docker/<name>.Dockerfile runs the service whose key is <name>').toEqual([]);
    const startKeys = [...(await readFile(join(REPO_DIR, 'scripts/start.ts'), 'utf8')).matchAll(/^\s*\{?\s*key: '([a-z]+)'/gm)].map((m) => m[1]).sort();
    expect(startKeys, "npm start's service keys").toEqual([...keyOf.values()].sort());
    for (const w of workloads(objects)) {
      for (const c of w.pod.containers.filter((container) => keyOf.has(imageName(container.image ?? '')))) {
        const name = `nst-${keyOf.get(imageName(c.image!))}`;
        expect(w.labels['app.kubernetes.io/name'], `${w.name} runs ${c.image}`).toBe(name);
        expect(w.name === name || w.name.startsWith(`${name}-`), `${w.name} is named for ${name}`).toBe(true);
        const otel = c.env?.find((e) => e.name === 'OTEL_SERVICE_NAME') as { value?: string } | undefined;
        if (otel) expect(otel.value, `${w.name}'s OTEL_SERVICE_NAME`).toBe(name);
      }
    }
    const compose = parse(await readFile(join(REPO_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { image?: string; environment?: Record<string, string> }> };
    for (const [service, spec] of Object.entries(compose.services).filter(([, s]) => keyOf.has(imageName(s.image ?? '')))) {
      const name = `nst-${keyOf.get(imageName(spec.image!))}`;
      expect(service, `the compose service running ${spec.image}`).toBe(name);
      expect(spec.environment?.['OTEL_SERVICE_NAME'], `${service}'s OTEL_SERVICE_NAME`).toBe(name);
    }
  });

  it('platform images are exactly the ones the Jenkinsfile, compose and docker/ build', async () => {
    const used = new Set(workloads(objects).flatMap((w) => [...w.pod.containers, ...(w.pod.initContainers ?? [])].map((c) => c.image)).filter((i) => i.startsWith('nst/')));
    const built = await builtImages();
    expect(built.jenkins).toEqual(built.dockerfiles);
    expect(built.compose).toEqual(built.dockerfiles);
    expect([...used].sort()).toEqual(built.dockerfiles);
  });
});

describe('the Dockerfiles', () => {
  it("copy every workspace's package.json before npm ci, which checks the lock file against all of them", async () => {
    const { workspaces } = JSON.parse(await readFile(join(REPO_DIR, 'package.json'), 'utf8')) as { workspaces: string[] };
    for (const file of (await readdir(join(REPO_DIR, 'docker'))).filter((f) => f.endsWith('.Dockerfile'))) {
      const text = await readFile(join(REPO_DIR, 'docker', file), 'utf8');
      const beforeCi = text.slice(0, text.indexOf('RUN npm ci'));
      const copied = [...beforeCi.matchAll(/^COPY ([a-z0-9-]+)\/package\.json /gm)].map((m) => m[1]);
      expect(copied.sort(), `${file} copies each workspace's package.json`).toEqual([...workspaces].sort());
    }
  });

  it('copy the sources of every workspace the entry point depends on at run time', async () => {
    const folderOf = new Map<string, string>();
    const runtimeDeps = new Map<string, string[]>();
    const { workspaces } = JSON.parse(await readFile(join(REPO_DIR, 'package.json'), 'utf8')) as { workspaces: string[] };
    for (const folder of workspaces) {
      const pkg = JSON.parse(await readFile(join(REPO_DIR, folder, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
      folderOf.set(pkg.name, folder);
      runtimeDeps.set(folder, Object.keys(pkg.dependencies ?? {}).filter((name) => name.startsWith('@nst/')));
    }
    for (const file of (await readdir(join(REPO_DIR, 'docker'))).filter((f) => f.endsWith('.Dockerfile'))) {
      const text = await readFile(join(REPO_DIR, 'docker', file), 'utf8');
      const entry = /^ENTRYPOINT \[.*"([a-z0-9-]+)\/src\/main\.ts"\]/m.exec(text)?.[1];
      expect(entry, `${file} runs a service's src/main.ts`).toBeDefined();
      const needed = new Set<string>();
      const visit = (folder: string): void => {
        if (needed.has(folder)) return;
        needed.add(folder);
        for (const dep of runtimeDeps.get(folder) ?? []) visit(folderOf.get(dep)!);
      };
      visit(entry!);
      const finalStage = text.slice(text.lastIndexOf('\nFROM '));
      const copied = new Set([...finalStage.matchAll(/^COPY ([a-z0-9-]+) \1$/gm)].map((m) => m[1]));
      expect([...needed].filter((folder) => !copied.has(folder)), `${file} copies what ${entry} imports`).toEqual([]);
    }
  });
});

describe('compose.yaml runs what gateway/envoy/envoy.yaml dials', () => {
  /** The setting each platform image listens on, in the service's environment. */
  const LISTEN: Record<string, (config: ReturnType<typeof loadConfig>) => number> = {
    'nst/style': (c) => Number(c.styleAddr.split(':').at(-1)),
    'nst/trainer': (c) => Number(c.trainerAddr.split(':').at(-1)),
    'nst/release': (c) => Number(c.releaseAddr.split(':').at(-1)),
    'nst/gateway': (c) => c.gatewayPort,
    // apm-server.yml's `host`, which compose mounts.
    'docker.elastic.co/apm/apm-server': () => APM_PORT,
  };

  it("Envoy's tracing route finds the APM token in its environment, in compose as in the cluster, from the same secret the services send", async () => {
    const envoyConfig = await readFile(join(REPO_DIR, 'gateway/envoy/envoy.yaml'), 'utf8');
    const variable = /%ENVIRONMENT\((\w+)\)%/.exec(envoyConfig)?.[1];
    expect(variable).toBeDefined();
    const compose = parse(await readFile(join(REPO_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string; environment?: Record<string, string> }>;
    };
    const envoy = Object.values(compose.services).find((service) => imageName(service.image ?? '') === 'envoyproxy/envoy')!;
    const services = compose.services['nst-style']!.environment!;
    // The services send "Authorization=Bearer <token>" (OTEL_EXPORTER_OTLP_HEADERS); Envoy the header value.
    const token = /Bearer (\$\{APM_SECRET_TOKEN[^}]*\})/.exec(services['OTEL_EXPORTER_OTLP_HEADERS']!)?.[1];
    expect(token).toBeDefined();
    expect(envoy.environment?.[variable!]).toBe(`Bearer ${token}`);
    for (const overlay of OVERLAYS) {
      const objects = await renderOverlay(overlay);
      const deployment = workloads(objects).find((w) => w.name === 'nst-envoy')!;
      const env = deployment.pod.containers[0]!.env ?? [];
      const value = env.find((e) => e.name === variable)?.value ?? '';
      const reference = /^Bearer \$\((\w+)\)$/.exec(value)?.[1];
      expect(reference, `${overlay}: ${variable} is "Bearer $(VAR)"`).toBeDefined();
      // Kubernetes expands $(VAR) only from variables defined before it.
      const index = env.findIndex((e) => e.name === reference);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(index).toBeLessThan(env.findIndex((e) => e.name === variable));
      expect(env[index]!.valueFrom?.secretKeyRef?.key, overlay).toBe('apm-secret-token');
      const apm = workloads(objects).find((w) => w.name === 'nst-apm-server')!;
      const apmToken = apm.pod.containers[0]!.env!.find((e) => e.name === 'APM_SECRET_TOKEN');
      expect(apmToken?.valueFrom?.secretKeyRef, `${overlay}: the APM server checks the same key`).toEqual(env[index]!.valueFrom?.secretKeyRef);
    }
  }, 60_000);

  it('every Envoy cluster address is a compose service that listens on that port, and Envoy waits for it', async () => {
    type Service = { image?: string; environment?: Record<string, string>; depends_on?: string[] | Record<string, unknown> };
    const compose = parse(await readFile(join(REPO_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
    const envoyService = Object.entries(compose.services).find(([, s]) => imageName(s.image ?? '') === 'envoyproxy/envoy');
    expect(envoyService, 'compose runs Envoy').toBeDefined();
    const [, envoy] = envoyService!;
    const dependsOn = Array.isArray(envoy.depends_on) ? envoy.depends_on : Object.keys(envoy.depends_on ?? {});
    for (const upstream of envoyUpstreams(await readFile(join(REPO_DIR, 'gateway/envoy/envoy.yaml'), 'utf8'))) {
      const service = compose.services[upstream.host];
      expect(service, `Envoy cluster ${upstream.cluster} dials ${upstream.host}, which is no compose service`).toBeDefined();
      const image = imageName(service!.image ?? '');
      const listen = LISTEN[image];
      expect(listen, `what ${upstream.host} (${image}) listens on`).toBeDefined();
      // compose's `${VAR:-default}` interpolation is not needed for these settings.
      const env = Object.fromEntries(Object.entries(service!.environment ?? {}).map(([k, v]) => [k, String(v)]));
      expect(listen!(loadConfig(env)), `${upstream.host} listens on the port Envoy's ${upstream.cluster} dials`).toBe(upstream.port);
      expect(dependsOn, `nst-envoy depends on ${upstream.host}`).toContain(upstream.host);
    }
  });
});

describe.skipIf(!haveKubectl)('the fine-tune Job (k8s/jobs/finetune-job.yaml)', () => {
  it('validates, runs as the training account, and is what the trainer NetworkPolicy and admin policy admit', async () => {
    const job = parse(await readFile(join(REPO_DIR, 'k8s/jobs/finetune-job.yaml'), 'utf8')) as K8sObject;
    await validateObject(job);
    const objects = await renderOverlay('prod');
    const pod = spec<{ template: { metadata: { labels: Labels }; spec: PodSpec } }>(job).template;
    expect(pod.spec.serviceAccountName).toBe('nst-training');
    expect(objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'nst-training')).toBe(true);
    expect(pod.spec.containers[0]!.image).toBe('nst/trainer');
    const trainerPolicy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'nst-trainer-from-front-door')!;
    const from = spec<{ ingress: { from: { podSelector?: { matchLabels: Labels } }[] }[] }>(trainerPolicy).ingress[0]!.from;
    expect(from.some((f) => f.podSelector && matches(f.podSelector.matchLabels, pod.metadata.labels))).toBe(true);
    expect(JSON.stringify(objects.find((o) => o.metadata.name === 'nst-admin-calls'))).toContain('cluster.local/ns/nst/sa/nst-training');
  }, 60_000);

  it("asks for its fine-tune with the Job's uid as request id, so the retry pod follows the same job instead of queuing another", async () => {
    const job = parse(await readFile(join(REPO_DIR, 'k8s/jobs/finetune-job.yaml'), 'utf8')) as K8sObject;
    const jobSpec = spec<{ backoffLimit?: number; template: { spec: PodSpec } }>(job);
    const container = jobSpec.template.spec.containers[0]! as Container & { command?: string[] };
    const script = (container.command ?? []).join(' ');
    const flag = /nst\.js finetune [^;]*--request-id "\$([A-Z_]+)"/.exec(script);
    expect(flag, 'the CLI call passes --request-id "$VAR"').not.toBeNull();
    const env = (container.env ?? []) as { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    const source = env.find((e) => e.name === flag![1]);
    // The Job controller labels every pod it makes with its own uid: the same for each retry,
    // different for every Job (a name from generateName could be reused after a deletion).
    expect(source?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['batch.kubernetes.io/controller-uid']");
    expect(jobSpec.backoffLimit ?? 6, 'a retry is what the id is for').toBeGreaterThan(0);
    // The CLI in the image takes the flag (the trainer image carries cli/).
    const { stdout } = await execFileAsync(process.execPath, [join(REPO_DIR, 'cli/bin/nst.js'), 'finetune', '--help']);
    expect(stdout).toContain('--request-id <id>');
  }, 60_000);

  it.each(OVERLAYS)('names Secrets the %s overlay creates under exactly that name (it is applied outside kustomize)', async (overlay) => {
    // kustomize rewrites references to generated names only inside the tree it renders; the
    // Job, created by ansible/finetune.yml, keeps the literal name.
    const job = parse(await readFile(join(REPO_DIR, 'k8s/jobs/finetune-job.yaml'), 'utf8')) as K8sObject;
    const objects = await renderOverlay(overlay);
    const secrets = new Map<string, Set<string>>();
    for (const s of objects.filter((o) => o.kind === 'Secret')) secrets.set(s.metadata.name, new Set(Object.keys((s as unknown as { data: object }).data)));
    for (const e of objects.filter((o) => o.kind === 'ExternalSecret')) {
      const es = spec<{ target: { name: string }; data: { secretKey: string }[] }>(e);
      secrets.set(es.target.name, new Set(es.data.map((d) => d.secretKey)));
    }
    const pod = spec<{ template: { spec: PodSpec } }>(job).template.spec;
    const refs = pod.containers.flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [])));
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect([...secrets.keys()], `the Job's secretKeyRef ${ref.name}`).toContain(ref.name);
      expect(secrets.get(ref.name), `${ref.name} holds ${ref.key}`).toContain(ref.key);
    }
  }, 60_000);
});

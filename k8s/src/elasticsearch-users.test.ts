/**
 * Least privilege in Elasticsearch: every service, and the APM server, writes and reads as its
 * own user whose roles (observability/elasticsearch) grant exactly what it uses, never the
 * elastic superuser.
 *
 * What each service uses is not written down by hand: the runtime's stores, opened as each
 * service opens them (StyleService writes, TrainerService and ReleaseService read), talk to a
 * stand-in Elasticsearch that records every request; each request maps to the privilege
 * Elasticsearch checks for it, and the user's roles must grant exactly those, on exactly those
 * names. The APM server's role is Elastic's documented writer role. Then the users are
 * followed into the deployments: the user each workload logs in as in Kubernetes and compose,
 * where its password comes from, and the deploy's and compose's setup making each user with
 * its roles (the Ansible tasks run for real against a stand-in kubectl).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadStoreConfig, openFeedbackStore, openStylizeEventStore, type FeedbackStore, type StylizeEventStore } from '@nst/runtime';
import { hasTool, needTool } from '@nst/runtime/test-tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { K8S_DIR, REPO_DIR } from './render';

const ES_DIR = join(REPO_DIR, 'observability/elasticsearch');
interface Role {
  cluster: string[];
  indices: { names: string[]; privileges: string[] }[];
}
interface User {
  roles: string[];
  secretKey: string;
  composeVariable: string;
}
/** What one user may do: cluster privileges, and privileges per index or data stream name. */
interface Grants {
  cluster: Set<string>;
  indices: Map<string, Set<string>>;
}

async function roles(): Promise<Map<string, Role>> {
  const files = (await readdir(join(ES_DIR, 'roles'))).filter((f) => f.endsWith('.json'));
  return new Map(await Promise.all(files.map(async (f) => [f.replace(/\.json$/, ''), JSON.parse(await readFile(join(ES_DIR, 'roles', f), 'utf8')) as Role] as const)));
}
const users = async (): Promise<Record<string, User>> => JSON.parse(await readFile(join(ES_DIR, 'users.json'), 'utf8')) as Record<string, User>;

function granted(roleNames: string[], all: Map<string, Role>): Grants {
  const grants: Grants = { cluster: new Set(), indices: new Map() };
  for (const name of roleNames) {
    const role = all.get(name);
    expect(role, `role ${name} is defined in observability/elasticsearch/roles`).toBeDefined();
    for (const privilege of role!.cluster) grants.cluster.add(privilege);
    for (const entry of role!.indices) {
      for (const index of entry.names) grants.indices.set(index, new Set([...(grants.indices.get(index) ?? []), ...entry.privileges]));
    }
  }
  return grants;
}

// --- What the code asks of Elasticsearch ----------------------------------------------------

let server: Server;
let url = '';
let recorded: { method: string; path: string; body: string }[] = [];

/**
 * The privilege Elasticsearch checks for each request the stores send. Unknown requests fail
 * the test: a new kind of call must be added here, and to the roles.
 */
function needed(requests: typeof recorded): Grants {
  const grants: Grants = { cluster: new Set(), indices: new Map() };
  const index = (name: string, ...privileges: string[]) => grants.indices.set(name, new Set([...(grants.indices.get(name) ?? []), ...privileges]));
  for (const { method, path, body } of requests) {
    if (method === 'PUT' && path.startsWith('/_ilm/policy/')) grants.cluster.add('manage_ilm');
    else if (method === 'PUT' && path.startsWith('/_index_template/')) grants.cluster.add('manage_index_templates');
    else if (method === 'POST' && path === '/_bulk') {
      // create operations into a data stream made on first write
      for (const line of body.split('\n').filter(Boolean).filter((_l, i) => i % 2 === 0)) {
        const action = JSON.parse(line) as { create?: { _index: string } };
        expect(action.create, 'the stores only ever create documents').toBeDefined();
        index(action.create!._index, 'create_doc', 'auto_configure');
      }
    } else if ((method === 'POST' || method === 'GET') && /^\/[^_/][^/]*\/_search$/.test(path)) index(path.split('/')[1]!, 'read');
    else if (method === 'POST' && /^\/[^_/][^/]*\/_delete_by_query$/.test(path)) index(path.split('/')[1]!, 'read', 'delete');
    else expect.fail(`a request the roles do not account for: ${method} ${path}`);
  }
  return grants;
}

const rating = (id: string) => ({ id, requestId: `req-${id}`, style: 'mosaic', version: '2', rating: 'bad' as const, clientId: 'c', consent: false, createdAt: '2026-01-10T12:00:00.000Z' });
const event = (id: string) => ({ id, style: 'mosaic', version: '2', code: 'OK', latencyMs: 100, startedAt: '2026-01-10T12:00:00.000Z', clientId: '' });

/** Each service's use of the stores, as its code opens them (inference/src/main.ts, trainer-server.ts, release-server.ts). */
const SERVICES: Record<string, { workload: string; compose: string; use: (config: ReturnType<typeof loadStoreConfig>) => Promise<void> }> = {
  StyleService: {
    workload: 'nst-style-stable',
    compose: 'nst-style',
    use: async (config) => {
      const feedback = await openFeedbackStore(config, { writer: { lingerMs: 1 } });
      const events = await openStylizeEventStore(config, { writer: { lingerMs: 1 } });
      await Promise.all([feedback.ready, events.ready]);
      await Promise.all([feedback.append(rating('r1')), events.append(event('e1'))]);
      await Promise.all([feedback.close(), events.close()]);
    },
  },
  TrainerService: {
    workload: 'nst-trainer',
    compose: 'nst-trainer',
    use: async (config) => {
      // The fine-tune trigger's reads (feedback-adapter.ts: stats by version and the ratings).
      const feedback: FeedbackStore & { ready: Promise<void> } = await openFeedbackStore(config, { readOnly: true });
      await feedback.ready;
      await feedback.statsByVersion({});
      await feedback.query({ rating: 'bad' });
      await feedback.close();
    },
  },
  ReleaseService: {
    workload: 'nst-release',
    compose: 'nst-release',
    use: async (config) => {
      // The canary analysis: ratings and serving events per version.
      const feedback = await openFeedbackStore(config, { readOnly: true });
      const events: StylizeEventStore & { ready: Promise<void> } = await openStylizeEventStore(config, { readOnly: true });
      await Promise.all([feedback.ready, events.ready]);
      await feedback.stats({ style: 'mosaic', version: '2' });
      await events.stats({ style: 'mosaic', version: '2' });
      await Promise.all([feedback.close(), events.close()]);
    },
  },
};

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://es').pathname;
      const body = Buffer.concat(chunks).toString();
      recorded.push({ method: request.method ?? '', path, body });
      let answer: unknown = { acknowledged: true };
      if (path === '/_bulk') {
        const items = body.split('\n').filter(Boolean).filter((_l, i) => i % 2 === 0).map((line) => {
          const { create } = JSON.parse(line) as { create: { _index: string; _id: string } };
          return { create: { ...create, status: 201 } };
        });
        answer = { took: 1, errors: false, items };
      } else if (path.endsWith('/_search')) {
        answer = { took: 1, hits: { total: { value: 0, relation: 'eq' }, hits: [] }, aggregations: { codes: { buckets: [] }, latency: { values: { '95.0': null } } } };
      }
      response.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

// --- Where the users are used ----------------------------------------------------------------

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } }[];
async function k8sWorkloads(): Promise<Map<string, Env>> {
  const byName = new Map<string, Env>();
  for (const dir of ['base/platform', 'base/observability']) {
    for (const file of (await readdir(join(K8S_DIR, dir))).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(await readFile(join(K8S_DIR, dir, file), 'utf8'))) {
        const object = doc.toJS() as { kind?: string; metadata?: { name: string }; spec?: { template?: { spec: { containers: { env?: Env }[]; initContainers?: { env?: Env }[] } } } };
        if (!object?.spec?.template || !['Deployment', 'StatefulSet'].includes(object.kind ?? '')) continue;
        const containers = [...object.spec.template.spec.containers, ...(object.spec.template.spec.initContainers ?? [])];
        byName.set(object.metadata!.name, containers.flatMap((c) => c.env ?? []));
      }
    }
  }
  return byName;
}
const composeServices = async () =>
  (parse(await readFile(join(REPO_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string>; entrypoint?: string[] }> }).services;
const envValue = (env: Env, name: string) => env.find((e) => e.name === name);

describe("each service's Elasticsearch user", () => {
  it.each(Object.keys(SERVICES))('%s: its user\'s roles grant exactly what its code asks, on exactly the names it uses', async (service) => {
    const { workload, use } = SERVICES[service]!;
    recorded = [];
    const config = loadStoreConfig({ NST_DATA_DIR: '/tmp/nst-es-roles-unused', ELASTICSEARCH_URL: url, ELASTICSEARCH_USERNAME: 'u', ELASTICSEARCH_PASSWORD: 'p' });
    await use(config);
    const need = needed(recorded);
    expect(recorded.length).toBeGreaterThan(0);
    const env = (await k8sWorkloads()).get(workload)!;
    const username = envValue(env, 'ELASTICSEARCH_USERNAME')?.value;
    expect(username, `${workload} logs in as its own user`).toBeDefined();
    const user = (await users())[username!];
    expect(user, `${username} is in observability/elasticsearch/users.json`).toBeDefined();
    const grants = granted(user!.roles, await roles());
    expect([...grants.cluster].sort(), `${username}'s cluster privileges`).toEqual([...need.cluster].sort());
    expect([...grants.indices.keys()].sort(), `${username}'s index names`).toEqual([...need.indices.keys()].sort());
    for (const [name, privileges] of need.indices) expect([...grants.indices.get(name)!].sort(), `${username} on ${name}`).toEqual([...privileges].sort());
  });

  it("the APM server's role is Elastic's writer role for a standalone APM server, and apm-server.yml logs in as its user", async () => {
    const users_ = await users();
    const apmEnv = (await k8sWorkloads()).get('nst-apm-server')!;
    const username = envValue(apmEnv, 'ELASTICSEARCH_USERNAME')?.value;
    const grants = granted(users_[username!]!.roles, await roles());
    expect([...grants.cluster]).toEqual(['monitor']);
    expect(Object.fromEntries([...grants.indices].map(([name, p]) => [name, [...p].sort()]))).toEqual({
      'traces-apm*': ['auto_configure', 'create_doc'],
      'logs-apm*': ['auto_configure', 'create_doc'],
      'metrics-apm*': ['auto_configure', 'create_doc'],
    });
    const settings = parse(await readFile(join(K8S_DIR, 'base/observability/apm-server.yml'), 'utf8')) as { 'output.elasticsearch': { username: string; password: string } };
    expect(settings['output.elasticsearch']).toMatchObject({ username: '${ELASTICSEARCH_USERNAME}', password: '${ELASTICSEARCH_PASSWORD}' });
    expect((await composeServices())['nst-apm-server']!.environment!['ELASTICSEARCH_USERNAME']).toBe(username);
  });

  it('no workload but Elasticsearch itself and the setup that makes users holds the elastic password; each logs in as its user with its own password, in Kubernetes and compose', async () => {
    const all = await users();
    const workloads = await k8sWorkloads();
    const compose = await composeServices();
    const superuserHolders = [...workloads].filter(([, env]) => env.some((e) => e.valueFrom?.secretKeyRef?.key === 'elastic-password')).map(([name]) => name);
    // Elasticsearch sets its own password; Kibana's init container sets kibana_system's.
    expect(superuserHolders.sort()).toEqual(['nst-elasticsearch', 'nst-kibana']);
    const composeHolders = Object.entries(compose).filter(([, s]) => Object.values(s.environment ?? {}).some((v) => String(v).includes('${ELASTIC_PASSWORD'))).map(([n]) => n);
    expect(composeHolders.sort()).toEqual(['es-setup', 'nst-elasticsearch']);
    const shared = parse((await readFile(join(K8S_DIR, 'base/kustomization.yaml'), 'utf8'))) as { configMapGenerator: { name: string; literals?: string[] }[] };
    expect(shared.configMapGenerator.flatMap((g) => g.literals ?? []).filter((l) => l.startsWith('ELASTICSEARCH_USERNAME'))).toEqual([]);

    const seen = new Set<string>();
    for (const [workload, service] of [...Object.values(SERVICES).map((s) => [s.workload, s.compose] as const), ['nst-apm-server', 'nst-apm-server'] as const]) {
      const env = workloads.get(workload)!;
      const username = envValue(env, 'ELASTICSEARCH_USERNAME')!.value!;
      expect(username).not.toBe('elastic');
      seen.add(username);
      expect(envValue(env, 'ELASTICSEARCH_PASSWORD')?.valueFrom?.secretKeyRef?.key, `${workload}'s password`).toBe(all[username]!.secretKey);
      const composeEnv = compose[service]!.environment!;
      expect(composeEnv['ELASTICSEARCH_USERNAME'], `compose's ${service}`).toBe(username);
      expect(composeEnv['ELASTICSEARCH_PASSWORD'], `compose's ${service}'s password`).toMatch(new RegExp(`^\\$\\{${all[username]!.composeVariable}[:}]`));
    }
    expect([...seen].sort()).toEqual(Object.keys(all).sort());
    // The gateway never opens Elasticsearch, so it holds no password at all.
    expect(workloads.get('nst-gateway')!.some((e) => e.name === 'ELASTICSEARCH_PASSWORD')).toBe(false);
    // Every password is provided wherever the Secret and compose's variables come from.
    const example = await readFile(join(K8S_DIR, 'overlays/dev/secrets.env.example'), 'utf8');
    const composeExample = await readFile(join(REPO_DIR, 'docker/compose.env.example'), 'utf8');
    for (const user of Object.values(all)) {
      expect(example).toMatch(new RegExp(`^${user.secretKey}=`, 'm'));
      expect(composeExample).toMatch(new RegExp(`^${user.composeVariable}=`, 'm'));
    }
  });

  it("compose's es-setup makes every user with its roles and password, and puts every role file", async () => {
    const all = await users();
    const script = (await composeServices())['es-setup']!.entrypoint!.join(' ');
    expect(script).toContain('for role in /nst-elasticsearch/roles/*.json');
    for (const [name, user] of Object.entries(all)) {
      // $$ is compose's escape for a $ the shell sees.
      expect(script, name).toContain(`user ${name} "$$${user.composeVariable}" ${user.roles.join(',')}`);
    }
  });
});

// --- The deploy makes them ---------------------------------------------------------------------

const haveAnsible = needTool('Elasticsearch users (the nst_platform tasks against a stand-in kubectl)', 'ansible-playbook', hasTool('ansible-playbook', ['--version']));

/** Records each call's arguments and the curl config it is given on stdin. */
const FAKE_KUBECTL = `#!/bin/bash
n=$(ls "$FAKE_DIR" | wc -l)
printf '%s\\n' "$*" > "$FAKE_DIR/$n.args"
if [[ "$*" == *" exec "* ]]; then cat > "$FAKE_DIR/$n.stdin"; echo '{"created":true}'; fi
`;

describe.skipIf(!haveAnsible)('the deploy (ansible nst_platform, elasticsearch-users.yml)', () => {
  let scratch = '';
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('puts every role file and every user with its roles and its vault password, as elastic, with no secret on a command line', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nst-es-users-'));
    const calls = join(scratch, 'calls');
    await execFileAsync('mkdir', [calls]);
    await writeFile(join(scratch, 'kubectl'), FAKE_KUBECTL);
    await chmod(join(scratch, 'kubectl'), 0o755);
    await writeFile(
      join(scratch, 'playbook.yml'),
      `---\n- name: The Elasticsearch users of a deploy\n  hosts: localhost\n  connection: local\n  gather_facts: false\n  vars_files:\n    - ${join(REPO_DIR, 'ansible/group_vars/all.yml')}\n    - ${join(REPO_DIR, 'ansible/vault/test.vault.yml')}\n  tasks:\n    - name: Make them\n      ansible.builtin.include_role:\n        name: nst_platform\n        tasks_from: elasticsearch-users.yml\n`,
    );
    const vault = parse(
      (await execFileAsync('ansible-vault', ['view', '--vault-password-file', join(REPO_DIR, 'ansible/vault/test-vault-password.txt'), join(REPO_DIR, 'ansible/vault/test.vault.yml')])).stdout,
    ) as Record<string, string>;
    await execFileAsync('ansible-playbook', ['-i', 'localhost,', join(scratch, 'playbook.yml'), '-e', JSON.stringify({ nst_repo_dir: REPO_DIR })], {
      env: {
        ...process.env,
        PATH: `${scratch}:${process.env['PATH'] ?? ''}`,
        ANSIBLE_ROLES_PATH: join(REPO_DIR, 'ansible/roles'),
        ANSIBLE_VAULT_PASSWORD_FILE: join(REPO_DIR, 'ansible/vault/test-vault-password.txt'),
        ANSIBLE_NOCOLOR: '1',
        FAKE_DIR: calls,
      },
    });
    const files = (await readdir(calls)).sort((a, b) => parseInt(a) - parseInt(b));
    const puts: { target: string; user: string; body: unknown }[] = [];
    for (const file of files.filter((f) => f.endsWith('.stdin'))) {
      const args = await readFile(join(calls, file.replace('.stdin', '.args')), 'utf8');
      const config = await readFile(join(calls, file), 'utf8');
      // curl's config syntax: key = "value" with \" and \\ escapes, which JSON string literals use.
      const field = (key: string) => JSON.parse(new RegExp(`^${key} = (".*")$`, 'm').exec(config)![1]!) as string;
      puts.push({ target: /-X PUT \S+\/_security\/(\S+)/.exec(args)![1]!, user: field('user'), body: JSON.parse(field('data')) });
      for (const secret of Object.values(vault)) expect(args, 'no secret on the command line').not.toContain(secret);
    }
    const allRoles = await roles();
    const allUsers = await users();
    expect(puts.map((p) => p.target).sort()).toEqual([...[...allRoles.keys()].map((r) => `role/${r}`), ...Object.keys(allUsers).map((u) => `user/${u}`)].sort());
    for (const put of puts) {
      expect(put.user).toBe(`elastic:${vault['vault_nst_elastic_password']}`);
      const [kind, name] = put.target.split('/') as [string, string];
      if (kind === 'role') expect(put.body, name).toEqual(allRoles.get(name));
      else expect(put.body, name).toEqual({ password: vault[`vault_nst_${allUsers[name]!.secretKey.replace(/-/g, '_')}`], roles: allUsers[name]!.roles });
    }
  }, 120_000);
});

const execFileAsync = promisify(execFile);

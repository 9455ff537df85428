/**
 * Operators' JWTs in the cluster. Istio verifies the `x-nst-operator-jwt` header on admin
 * calls against the cluster's own service-account issuer and keys, which differ per cluster:
 * ansible's nst_platform role reads them from the API server and patches them into the
 * RequestAuthentication. Run here for real: the role's tasks under ansible-playbook against a
 * stand-in `kubectl` playing a kubeadm cluster and an EKS one, then the deploy's kustomization
 * rendered by kustomize, and the result checked against Istio's schema and the admin policy.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasTool, needTool } from '@nst/runtime/test-tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { K8S_DIR, REPO_DIR } from './render';
import { validateObject } from './schemas';
import { renderOverlay, type K8sObject } from './tools';

const run = promisify(execFile);
const haveTools = needTool(
  "operators' JWT rule (the nst_platform role's tasks against a stand-in kubectl, then kustomize)",
  'ansible-playbook and kubectl',
  hasTool('ansible-playbook', ['--version']) && hasTool('kubectl', ['version', '--client']),
);

/** Answers the two reads the role makes; anything else is a mistake. Calls go to $FAKE_CALLS. */
const FAKE_KUBECTL = `#!/bin/bash
echo "$*" >> "$FAKE_CALLS"
case "$*" in
  "get --raw /.well-known/openid-configuration") echo "$FAKE_DISCOVERY" ;;
  "get --raw /openid/v1/jwks") echo "$FAKE_JWKS" ;;
  *) echo "unexpected kubectl $*" >&2; exit 2 ;;
esac
`;

const PLAYBOOK = `---
- name: The operator-JWT part of a deploy
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read the cluster's issuer and keys
      ansible.builtin.include_role:
        name: nst_platform
        tasks_from: operator-jwt.yml
    - name: Write the deploy's kustomization
      ansible.builtin.template:
        src: "{{ nst_kustomization_template }}"
        dest: "{{ nst_scratch.path }}/kustomization.yaml"
        mode: "0644"
`;

const KEY = { kty: 'RSA', alg: 'RS256', use: 'sig', kid: 'kubeadm-key-1', n: 'sXch0M7Yz1hBQJm', e: 'AQAB' };
const KUBEADM = {
  discovery: { issuer: 'https://kubernetes.default.svc.cluster.local', jwks_uri: 'https://10.0.0.1:6443/openid/v1/jwks' },
  jwks: { keys: [KEY] },
};
const EKS_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/5C2B3E14F8A0';

let scratch = '';
let kubectl = '';
beforeAll(async () => {
  if (!haveTools) return;
  scratch = await mkdtemp(join(tmpdir(), 'nst-operator-jwt-'));
  kubectl = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
  await writeFile(join(scratch, 'kubectl'), FAKE_KUBECTL);
  await chmod(join(scratch, 'kubectl'), 0o755);
  await writeFile(join(scratch, 'playbook.yml'), PLAYBOOK);
  // The overlays as the deploy sees them, with the dev secrets file the role writes first.
  for (const part of ['base', 'overlays']) await cp(join(K8S_DIR, part), join(scratch, 'k8s', part), { recursive: true });
  await cp(join(scratch, 'k8s/overlays/dev/secrets.env.example'), join(scratch, 'k8s/overlays/dev/secrets.env'));
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs the role's tasks for a cluster; resolves with the deploy's RequestAuthentication and the kubectl calls. */
async function deployFor(cluster: { discovery: object; jwks: object }, extra: Record<string, string> = {}) {
  const out = await mkdtemp(join(scratch, 'deploy-'));
  const calls = join(out, 'calls');
  await writeFile(calls, '');
  const vars = {
    // The repository as the deploy sees it: the copy of k8s/ with the dev secrets file.
    nst_repo_dir: scratch,
    nst_kustomization_template: join(REPO_DIR, 'ansible/roles/nst_platform/templates/kustomization.yaml.j2'),
    nst_overlay: 'dev',
    nst_scratch: { path: out },
    nst_images: ['gateway', 'inference', 'mesh', 'trainer'],
    nst_image_registry: 'registry.example.com',
    nst_image_tag: 'abc123',
    ...extra,
  };
  const result = await run('ansible-playbook', ['-i', 'localhost,', join(scratch, 'playbook.yml'), '-e', JSON.stringify(vars)], {
    env: {
      ...process.env,
      PATH: `${scratch}:${process.env['PATH'] ?? ''}`,
      ANSIBLE_ROLES_PATH: join(REPO_DIR, 'ansible/roles'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      FAKE_CALLS: calls,
      FAKE_DISCOVERY: JSON.stringify(cluster.discovery),
      FAKE_JWKS: JSON.stringify(cluster.jwks),
    },
  }).then(
    (r) => ({ ok: true, output: r.stdout }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, output: `${e.stdout}\n${e.stderr}` }),
  );
  const kubectlCalls = (await readFile(calls, 'utf8')).split('\n').filter(Boolean);
  if (!result.ok) return { ...result, kubectlCalls, rule: undefined, objects: [] as K8sObject[] };
  const rendered = execFileSync(kubectl, ['kustomize', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const objects = parseAllDocuments(rendered).map((d) => d.toJS() as K8sObject);
  const auth = objects.find((o) => o.kind === 'RequestAuthentication' && o.metadata.name === 'nst-operator-jwt')!;
  await validateObject(auth);
  const rule = (auth as unknown as { spec: { jwtRules: Record<string, unknown>[] } }).spec.jwtRules;
  expect(rule).toHaveLength(1);
  return { ...result, kubectlCalls, rule: rule[0]!, objects };
}

describe.skipIf(!haveTools)("operators' JWTs, as a deploy configures them", () => {
  it('kubeadm: the issuer the API server names and its keys inline, never a jwksUri istiod could not fetch', async () => {
    const deploy = await deployFor(KUBEADM);
    expect(deploy.ok, deploy.output).toBe(true);
    expect(deploy.rule).toEqual({
      issuer: KUBEADM.discovery.issuer,
      audiences: ['nst-admin'],
      fromHeaders: [{ name: 'x-nst-operator-jwt' }],
      forwardOriginalToken: false,
      // Istio takes the JWKS as a JSON string.
      jwks: expect.any(String),
    });
    expect(JSON.parse(deploy.rule!['jwks'] as string)).toEqual(KUBEADM.jwks);
    expect(deploy.kubectlCalls).toEqual(['get --raw /.well-known/openid-configuration', 'get --raw /openid/v1/jwks']);
    // The images are this build's, as before.
    const gateway = deploy.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'nst-gateway') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(gateway.spec.template.spec.containers[0]!.image).toBe('registry.example.com/nst/gateway:abc123');
  }, 120_000);

  it("EKS with its public issuer's JWKS named: the issuer and that jwksUri, and no keys read", async () => {
    const deploy = await deployFor(
      { discovery: { issuer: EKS_ISSUER, jwks_uri: `${EKS_ISSUER}/keys` }, jwks: { keys: [] } },
      { nst_operator_jwks_uri: `${EKS_ISSUER}/keys` },
    );
    expect(deploy.ok, deploy.output).toBe(true);
    expect(deploy.rule).toMatchObject({ issuer: EKS_ISSUER, jwksUri: `${EKS_ISSUER}/keys`, audiences: ['nst-admin'] });
    expect(deploy.rule).not.toHaveProperty('jwks');
    expect(deploy.kubectlCalls).toEqual(['get --raw /.well-known/openid-configuration']);
  }, 120_000);

  it('stops the deploy, saying why, when the cluster lists no signing keys', async () => {
    const deploy = await deployFor({ discovery: KUBEADM.discovery, jwks: { keys: [] } });
    expect(deploy.ok).toBe(false);
    expect(deploy.output).toMatch(/lists no signing keys/);
  }, 120_000);
});

describe.skipIf(!haveTools)("operators' JWTs in the committed overlays", () => {
  it('name no JWKS at the API server, and the admin policy admits the nst-operator account by subject, whatever the issuer', async () => {
    for (const overlay of ['dev', 'prod'] as const) {
      const objects = await renderOverlay(overlay);
      const auth = objects.find((o) => o.kind === 'RequestAuthentication')! as unknown as { spec: { jwtRules: { jwksUri?: string; issuer: string }[] } };
      for (const rule of auth.spec.jwtRules) {
        // istiod fetches with public roots and no credentials: the API server refuses it.
        expect(rule.jwksUri ?? '', overlay).not.toMatch(/kubernetes\.default|:6443|\/openid\/v1\/jwks$/);
      }
      const policy = objects.find((o) => o.kind === 'AuthorizationPolicy' && o.metadata.name === 'nst-admin-calls')! as unknown as {
        spec: { rules: { when: { key: string; notValues: string[] }[] }[] };
      };
      const subject = policy.spec.rules[0]!.when.find((w) => w.key === 'request.auth.claims[sub]');
      const account = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'nst-operator')!;
      expect(subject?.notValues).toEqual([`system:serviceaccount:${account.metadata.namespace}:${account.metadata.name}`]);
      // An issuer-specific principal would hold only on the cluster whose issuer it names.
      expect(policy.spec.rules[0]!.when.map((w) => w.key)).not.toContain('request.auth.principal');
    }
  }, 120_000);
});

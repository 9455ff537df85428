/**
 * The shipping files pass their own linters, run as the tools themselves: yamllint (strict),
 * `ansible-playbook --syntax-check` and ansible-lint over ansible/ (with the public test vault),
 * npm-groovy-lint over the Jenkinsfile. Beside them, the checks no linter makes: the secrets
 * the manifests need are the ones every source of them provides, and compose builds what exists.
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasTool, needTool } from '@nst/runtime/test-tools';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { K8S_DIR, REPO_DIR } from './render';

const run = promisify(execFile);
const ANSIBLE_DIR = join(REPO_DIR, 'ansible');
const TEST_VAULT_PASSWORD = join(ANSIBLE_DIR, 'vault/test-vault-password.txt');
const ansibleEnv = { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_VAULT_PASSWORD_FILE: TEST_VAULT_PASSWORD, ANSIBLE_NOCOLOR: '1' };

/** Runs a linter; on failure the assertion shows its whole output. */
async function lint(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: options.cwd ?? REPO_DIR, env: options.env ?? process.env, maxBuffer: 16 << 20, timeout: 300_000 });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    expect.fail(`${command} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}

const keysOfEnvFile = (text: string): string[] =>
  text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.slice(0, l.indexOf('='))).sort();

describe('shipping files pass their linters', () => {
  it.skipIf(!needTool('yamllint check', 'yamllint', hasTool('yamllint')))('yamllint --strict: k8s/, ansible/, compose.yaml', async () => {
    await lint('yamllint', ['--strict', 'k8s', 'ansible', 'compose.yaml', '.yamllint']);
  });

  it.skipIf(!needTool('Ansible syntax check', 'ansible-playbook', hasTool('ansible-playbook')))('ansible-playbook --syntax-check: every playbook', async () => {
    const out = await lint('ansible-playbook', ['--syntax-check', '-i', 'inventory/test.yml', 'site.yml', 'finetune.yml', 'cleanup.yml'], { cwd: ANSIBLE_DIR, env: ansibleEnv });
    expect(out).toContain('playbook: site.yml');
  });

  it.skipIf(!needTool('Ansible test vault check', 'ansible-vault', hasTool('ansible-vault')))('the test vault opens with the documented test password and holds every vaulted variable', async () => {
    const out = await lint('ansible-vault', ['view', '--vault-password-file', TEST_VAULT_PASSWORD, 'vault/test.vault.yml'], { cwd: ANSIBLE_DIR, env: ansibleEnv });
    const vaulted = Object.keys(parse(out) as object).sort();
    const groupVars = await readFile(join(ANSIBLE_DIR, 'group_vars/all.yml'), 'utf8');
    const used = [...new Set([...groupVars.matchAll(/\{\{ (vault_[a-z_]+) \}\}/g)].map((m) => m[1]!))].sort();
    expect(vaulted).toEqual(used);
  });

  it.skipIf(!needTool('ansible-lint check', 'ansible-lint', hasTool('ansible-lint')))('ansible-lint (production profile) over ansible/', async () => {
    const out = await lint('ansible-lint', ['--profile', 'production', '--nocolor'], { cwd: ANSIBLE_DIR, env: ansibleEnv });
    expect(out).toMatch(/Passed|0 failure/);
  });

  it.skipIf(!needTool('shellcheck of the deploy smoke test', 'shellcheck', hasTool('shellcheck')))('shellcheck: the deploy smoke test script', async () => {
    await lint('shellcheck', ['ansible/files/smoke-test.sh']);
  });

  it.skipIf(!needTool('compose.yaml schema check', 'docker-compose', hasTool('docker-compose', ['version'])))('docker-compose config: compose.yaml matches the Compose schema', async () => {
    // Debian's docker-compose (1.29) checks the file and its interpolation without a Docker engine.
    await lint('docker-compose', ['-f', 'compose.yaml', '--env-file', 'docker/compose.env.example', 'config', '-q']);
  });

  // The linter runs CodeNarc on Java; Java 17 is on these machines (and Jenkins agents).
  it.skipIf(!needTool('Jenkinsfile lint (npm-groovy-lint)', 'java', hasTool('java', ['-version'])))('npm-groovy-lint: the Jenkinsfile has no warnings', async () => {
    const bin = join(REPO_DIR, 'node_modules/.bin/npm-groovy-lint');
    await lint(bin, ['--noserver', '--failon', 'warning', '--config', join(REPO_DIR, '.groovylintrc.json'), 'Jenkinsfile']);
  });
});

/** The body of the block `head {` that starts at `from` in a Jenkinsfile (braces balanced). */
function block(text: string, from: number): string {
  const open = text.indexOf('{', from);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`unbalanced block at ${from}`);
}

/** The directives directly inside a block (nested blocks blanked out). */
const topLevel = (body: string): string => {
  let out = '';
  let depth = 0;
  for (const ch of body) {
    if (ch === '}') depth--;
    out += depth === 0 ? ch : ch === '\n' ? '\n' : ' ';
    if (ch === '{') depth++;
  }
  return out;
};

describe('the Jenkinsfile waits for the production approval without an executor or a build-wide clock', () => {
  it('no agent and no timeout at the top; the input stage takes no agent and has its own timeout; agents per stage', async () => {
    const text = (await readFile(join(REPO_DIR, 'Jenkinsfile'), 'utf8')).replace(/\/\/.*$/gm, '');
    const pipeline = block(text, text.indexOf('pipeline {'));
    const top = topLevel(pipeline);
    // A top-level agent holds its executor through every stage, the approval included.
    expect(top, 'pipeline-level agent').toMatch(/^\s*agent none\s*$/m);
    // A pipeline-wide timeout covers the approval: a stage's longer one never applies.
    const options = /^\s*options\s*\{/m.exec(top);
    if (options) expect(block(pipeline, options.index), 'pipeline-level options').not.toMatch(/timeout\s*\(/);
    const stages = [...pipeline.matchAll(/stage\('([^']+)'\)\s*\{/g)].map((m) => ({ name: m[1]!, body: block(pipeline, m.index) }));
    const gated = stages.filter((s) => /^\s*input\s*\{/m.test(topLevel(s.body)));
    expect(gated.map((s) => s.name)).toEqual(['Approve prod']);
    for (const stage of gated) {
      expect(topLevel(stage.body), `${stage.name} takes no agent`).toMatch(/^\s*agent none\s*$/m);
      expect(stage.body, `${stage.name} has its own timeout`).toMatch(/timeout\(time: 1, unit: 'DAYS'\)/);
    }
    // Every step runs on an agent some enclosing stage takes.
    for (const stage of stages.filter((s) => /\bsh\b/.test(topLevel(s.body)) || /^\s*steps\s*\{[\s\S]*\bsh\b/m.test(s.body))) {
      const enclosing = stages.filter((s) => s.body.includes(stage.body));
      // topLevel blanks the agent's label: `agent {   }`.
      expect(enclosing.some((s) => /^\s*agent \{\s*\}\s*$/m.test(topLevel(s.body))), `stage ${stage.name} runs its sh steps on an agent`).toBe(true);
    }
  });
});

describe('secrets and compose agree with what they feed', () => {
  it('the dev example, the Ansible template and the prod ExternalSecret provide the same Secret keys', async () => {
    const example = keysOfEnvFile(await readFile(join(K8S_DIR, 'overlays/dev/secrets.env.example'), 'utf8'));
    const template = keysOfEnvFile(await readFile(join(ANSIBLE_DIR, 'roles/nst_platform/templates/secrets.env.j2'), 'utf8'));
    const external = parse(await readFile(join(K8S_DIR, 'overlays/prod/external-secret.yaml'), 'utf8')) as { spec: { data: { secretKey: string }[] } };
    expect(template).toEqual(example);
    expect(external.spec.data.map((d) => d.secretKey).sort()).toEqual(example);
  });

  it('Kibana gets a fixed saved-object encryption key of 32 characters or more, in the cluster and in compose', async () => {
    // Without one Kibana makes up a key at each start and loses its encrypted saved objects.
    const envValue = (text: string, key: string): string | undefined =>
      text.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    const docs = parseAllDocuments(await readFile(join(K8S_DIR, 'base/observability/kibana.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; spec?: { template: { spec: { containers: { name: string; env?: { name: string; valueFrom?: { secretKeyRef?: { key: string } } }[] }[] } } } });
    const kibana = docs.find((d) => d.kind === 'Deployment')!.spec!.template.spec.containers.find((c) => c.name === 'kibana')!;
    const ref = kibana.env?.find((e) => e.name === 'XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY')?.valueFrom?.secretKeyRef?.key;
    expect(ref, 'the Kibana container takes its key from nst-secrets').toBeDefined();
    const example = envValue(await readFile(join(K8S_DIR, 'overlays/dev/secrets.env.example'), 'utf8'), ref!);
    expect(example?.length, `${ref} in secrets.env.example`).toBeGreaterThanOrEqual(32);
    const compose = parse(await readFile(join(REPO_DIR, 'compose.yaml'), 'utf8')) as { services: Record<string, { image?: string; environment?: Record<string, string> }> };
    const service = Object.values(compose.services).find((c) => (c.image ?? '').startsWith('docker.elastic.co/kibana/'))!;
    const variable = /^\$\{([A-Z_]+)/.exec(service.environment?.XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY ?? '')?.[1];
    expect(variable, 'compose passes Kibana its key from docker/compose.env').toBeDefined();
    expect(envValue(await readFile(join(REPO_DIR, 'docker/compose.env.example'), 'utf8'), variable!)?.length).toBeGreaterThanOrEqual(32);
  });

  it('compose builds from existing Dockerfiles, mounts existing files (the APM server accepting its mounted config), waits for a healthy Elasticsearch and documents every variable it needs', async () => {
    const text = await readFile(join(REPO_DIR, 'compose.yaml'), 'utf8');
    const compose = parse(text, { merge: true }) as { services: Record<string, { build?: { dockerfile: string }; volumes?: string[] }> };
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) await access(join(REPO_DIR, service.build.dockerfile)).catch(() => expect.fail(`${name}: ${service.build!.dockerfile} is missing`));
      for (const volume of service.volumes ?? []) {
        if (volume.startsWith('./')) await access(join(REPO_DIR, volume.split(':')[0]!)).catch(() => expect.fail(`${name}: ${volume} is missing`));
      }
    }
    // Beats-based servers (the APM server) refuse a config file not owned by their user or
    // root, or writable by group or others: a file bind-mounted from the checkout is neither
    // owned right nor safe from a 002 umask, so such a service must turn the check off.
    for (const [name, service] of Object.entries(compose.services) as [string, { image?: string; command?: string[]; volumes?: string[] }][]) {
      if (!/^docker\.elastic\.co\/(apm|beats)\//.test(service.image ?? '')) continue;
      const config = service.command?.[service.command.indexOf('-c') + 1];
      const mounted = (service.volumes ?? []).some((v) => v.startsWith('./') && v.split(':')[1] === config);
      if (mounted) expect(service.command, `${name} reads ${config} from the checkout`).toContain('--strict.perms=false');
    }
    // A service that writes to Elasticsearch starts once it answers, not merely once it runs.
    for (const [name, service] of Object.entries(compose.services) as [string, { environment?: Record<string, string>; depends_on?: Record<string, { condition?: string }> | string[] }][]) {
      const url = service.environment?.ELASTICSEARCH_URL;
      if (!url) continue;
      const host = new URL(url).hostname;
      expect(Object.keys(compose.services), `${name}'s ELASTICSEARCH_URL`).toContain(host);
      const dependsOn = Array.isArray(service.depends_on) ? {} : (service.depends_on ?? {});
      expect(dependsOn[host]?.condition, `${name} waits for a healthy ${host}`).toBe('service_healthy');
    }
    const needed = [...new Set([...text.matchAll(/\$\{([A-Z_]+)[:}-]/g)].map((m) => m[1]!))].sort();
    const documented = keysOfEnvFile(await readFile(join(REPO_DIR, 'docker/compose.env.example'), 'utf8'));
    expect(documented).toEqual(needed);
  });
});

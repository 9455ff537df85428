/**
 * ansible/finetune.yml (the Jenkins fine-tune stage) run for real by ansible-playbook, with
 * the public test inventory and vault, against a stand-in `kubectl` on PATH that plays a
 * cluster whose fine-tune Job completes or fails. A failed Job must fail the play at once,
 * saying so, not after the whole timeout (`kubectl wait --for=condition=complete` alone waits
 * that long on a failed Job); a completed one goes on to show the versions.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasTool, needTool } from '@nst/runtime/test-tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from './render';

const run = promisify(execFile);
const ANSIBLE_DIR = join(REPO_DIR, 'ansible');
const haveAnsible = needTool('fine-tune wait (ansible/finetune.yml against a stand-in kubectl)', 'ansible-playbook', hasTool('ansible-playbook', ['--version']));

/**
 * The stand-in: `create` prints the Job's name, `get` the Job as JSON (its conditions from
 * $FAKE_JOB_CONDITIONS after $FAKE_RUNNING_POLLS polls with none), `wait` waits out its
 * --timeout as kubectl does on a condition that never comes, `logs` and `exec` print a line.
 * Every call is appended to $FAKE_CALLS.
 */
const FAKE_KUBECTL = `#!/bin/bash
echo "$*" >> "$FAKE_CALLS"
args=" $* "
case "$args" in
  *" --dry-run=client "*) echo "kind: Job" ;;
  *" set "*) cat ;;
  *" create "*) cat > /dev/null; echo "job.batch/nst-finetune-x7k2p" ;;
  *" get "*)
    polls=$(grep -c ' get ' "$FAKE_CALLS")
    if [ "$polls" -le "\${FAKE_RUNNING_POLLS:-0}" ]; then echo '{"status":{"active":1}}';
    else echo "{\\"status\\":{\\"conditions\\":$FAKE_JOB_CONDITIONS}}"; fi ;;
  *" wait "*)
    timeout=$(sed -E 's/.*--timeout[ =]([0-9]+)s?.*/\\1/' <<< "$args")
    if [[ "$FAKE_JOB_CONDITIONS" == *Complete* ]]; then echo "job.batch/nst-finetune-x7k2p condition met"; exit 0; fi
    sleep "$timeout"; echo "error: timed out waiting for the condition on jobs/nst-finetune-x7k2p" >&2; exit 1 ;;
  *" logs "*) echo "finetune: the trainer refused the request: PERMISSION_DENIED" ;;
  *" exec "*) echo "elephants 2 canary" ;;
  *) echo "unexpected kubectl $*" >&2; exit 2 ;;
esac
`;

const FAILED = JSON.stringify([
  { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
  { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
]);
const COMPLETE = JSON.stringify([
  { type: 'SuccessCriteriaMet', status: 'True' },
  { type: 'Complete', status: 'True' },
]);

let scratch = '';
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'nst-finetune-wait-'));
  await writeFile(join(scratch, 'kubectl'), FAKE_KUBECTL);
  await chmod(join(scratch, 'kubectl'), 0o755);
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs the playbook for one style; the fine-tune timeout is 20 s, polled every second. */
async function finetune(conditions: string, runningPolls: number): Promise<{ ok: boolean; output: string; seconds: number; calls: string[] }> {
  const calls = join(scratch, `calls-${Math.random().toString(36).slice(2)}`);
  await writeFile(calls, '');
  const env = {
    ...process.env,
    PATH: `${scratch}:${process.env.PATH ?? ''}`,
    ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'),
    ANSIBLE_VAULT_PASSWORD_FILE: join(ANSIBLE_DIR, 'vault/test-vault-password.txt'),
    ANSIBLE_NOCOLOR: '1',
    FAKE_CALLS: calls,
    FAKE_JOB_CONDITIONS: conditions,
    FAKE_RUNNING_POLLS: String(runningPolls),
  };
  const args = ['-i', 'inventory/test.yml', 'finetune.yml', '-e', 'nst_finetune_style=elephants', '-e', 'nst_finetune_timeout=20s', '-e', 'nst_finetune_poll_interval=1'];
  const started = Date.now();
  const result = await run('ansible-playbook', args, { cwd: ANSIBLE_DIR, env, timeout: 120_000, maxBuffer: 16 << 20 }).then(
    ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
    (error: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}${error.message}` }),
  );
  const seconds = (Date.now() - started) / 1000;
  return { ...result, seconds, calls: (await readFile(calls, 'utf8')).split('\n').filter(Boolean) };
}

describe.skipIf(!haveAnsible)('ansible/finetune.yml waits for the fine-tune Job', () => {
  it('fails at once, saying the Job failed and why, when the Job fails', async () => {
    const result = await finetune(FAILED, 2);
    expect(result.ok, result.output).toBe(false);
    expect(result.output).toContain('The fine-tune Job job.batch/nst-finetune-x7k2p failed');
    expect(result.output).toContain('BackoffLimitExceeded');
    expect(result.output).toContain('PERMISSION_DENIED');
    expect(result.output).not.toContain('timed out');
    // Well before the 20 s timeout: the failure is seen at the next poll.
    expect(result.seconds, result.output).toBeLessThan(18);
    expect(result.calls.some((c) => c.includes(' exec '))).toBe(false);
  }, 130_000);

  it('goes on to the versions once the Job completes, after polling while it runs', async () => {
    const result = await finetune(COMPLETE, 2);
    expect(result.ok, result.output).toBe(true);
    expect(result.calls.filter((c) => c.includes(' get ')).length).toBe(3);
    expect(result.calls.some((c) => c.includes(' logs '))).toBe(false);
    expect(result.calls.at(-1)).toContain('exec deploy/nst-trainer -c trainer -- node cli/bin/nst.js versions elephants');
  }, 130_000);
});

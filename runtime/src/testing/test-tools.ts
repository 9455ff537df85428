/**
 * System tools some test suites need (Chromium, promtool, yamllint, ansible-lint, LuaJIT,
 * kubectl, docker-compose, shellcheck, java). On a bare machine a suite whose tool is missing is
 * skipped, shown as skipped (never passed), and named in one list at the end of the run (see
 * skip-report.ts). Under NST_REQUIRE_TEST_TOOLS=1 (set by .ci/run) or CI a missing tool fails
 * the run instead, so CI can never pass a check by not running it.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** Where the vitest global setup asks workers to record skips (one JSON line per skip). */
export const SKIP_LOG_ENV = 'NST_TEST_SKIP_LOG';
export const INSTALL_HINT = 'run scripts/install-system-deps.sh';

export interface SkippedSuite {
  suite: string;
  reason: string;
}

/** Whether `command args` runs and exits 0 (most tools answer --version). */
export function hasTool(command: string, args: string[] = ['--version']): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return result.error === undefined && result.status === 0;
}

export function toolsRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['NST_REQUIRE_TEST_TOOLS'] === '1' || Boolean(env['CI']);
}

/**
 * Whether `suite` can run. `present` is the probe's answer (hasTool, or a file check); when it
 * is false the skip is recorded for the end-of-run list, or, where tools are required, this
 * throws so the test file fails.
 */
export function needTool(suite: string, tool: string, present: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (present) return true;
  const reason = `${tool} not found; ${INSTALL_HINT}`;
  if (toolsRequired(env)) {
    throw new Error(`${suite}: ${tool} is not installed here; ${INSTALL_HINT} (NST_REQUIRE_TEST_TOOLS=1 or CI forbids skipping)`);
  }
  recordSkip({ suite, reason }, env);
  return false;
}

/**
 * Records a skip for a reason no install fixes (e.g. mounting a tmpfs needs root), so it is
 * listed at the end but never fails a run.
 */
export function recordSkip(skip: SkippedSuite, env: NodeJS.ProcessEnv = process.env): void {
  const log = env[SKIP_LOG_ENV];
  // Outside the project's vitest run (no global setup) the skip still shows in vitest's output.
  if (log) appendFileSync(log, `${JSON.stringify(skip)}\n`);
}

/** The end-of-run list: one line per distinct skip, or nothing when none were skipped. */
export function formatSkipReport(skips: SkippedSuite[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const { suite, reason } of skips) {
    const line = `  skipped: ${suite} — ${reason}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  if (lines.length === 0) return '';
  return [`${lines.length} test suite${lines.length === 1 ? '' : 's'} did not run:`, ...lines].join('\n');
}

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatSkipReport, hasTool, needTool, SKIP_LOG_ENV } from './test-tools';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function skipLog(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nst-skip-test-'));
  dirs.push(dir);
  return join(dir, 'skips.jsonl');
}

describe('system tools for test suites', () => {
  it('finds a tool that runs and not one that does not exist', () => {
    expect(hasTool(process.execPath)).toBe(true);
    expect(hasTool('nst-no-such-tool-anywhere')).toBe(false);
  });

  it('on a bare machine records the skip for the end-of-run list instead of failing', () => {
    const log = skipLog();
    expect(needTool('browser tests', 'chromium', false, { [SKIP_LOG_ENV]: log })).toBe(false);
    expect(JSON.parse(readFileSync(log, 'utf8'))).toEqual({ suite: 'browser tests', reason: 'chromium not found; run scripts/install-system-deps.sh' });
  });

  it('fails instead of skipping under NST_REQUIRE_TEST_TOOLS=1 and under CI', () => {
    const log = skipLog();
    expect(() => needTool('browser tests', 'chromium', false, { NST_REQUIRE_TEST_TOOLS: '1', [SKIP_LOG_ENV]: log })).toThrow(/browser tests: chromium is not installed.*install-system-deps/);
    expect(() => needTool('promtool checks', 'promtool', false, { CI: 'true' })).toThrow(/promtool/);
    expect(needTool('browser tests', 'chromium', true, { NST_REQUIRE_TEST_TOOLS: '1' })).toBe(true);
  });

  it('lists each skipped suite once, with why and how to get it', () => {
    const report = formatSkipReport([
      { suite: 'browser tests', reason: 'chromium not found; run scripts/install-system-deps.sh' },
      { suite: 'browser tests', reason: 'chromium not found; run scripts/install-system-deps.sh' },
      { suite: 'full-disk tests', reason: 'mounting a tmpfs needs root' },
    ]);
    expect(report.split('\n')).toEqual([
      '2 test suites did not run:',
      '  skipped: browser tests — chromium not found; run scripts/install-system-deps.sh',
      '  skipped: full-disk tests — mounting a tmpfs needs root',
    ]);
    expect(formatSkipReport([])).toBe('');
  });
});

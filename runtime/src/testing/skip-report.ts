/**
 * Vitest global setup: gives the test workers a file to record skipped suites in
 * (test-tools.ts), and prints them as one plain list when the run ends, after vitest's own
 * summary, so a person sees what did not run and how to get it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSkipReport, SKIP_LOG_ENV, type SkippedSuite } from './test-tools';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'nst-test-skips-'));
  const log = join(dir, 'skips.jsonl');
  // Workers are started after global setup and inherit its environment.
  process.env[SKIP_LOG_ENV] = log;
  return () => {
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      // No file: nothing was skipped.
    }
    rmSync(dir, { recursive: true, force: true });
    const skips = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SkippedSuite);
    const report = formatSkipReport(skips);
    if (report) process.stdout.write(`\n${report}\n`);
  };
}

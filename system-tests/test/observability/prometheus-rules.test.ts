/**
 * The Prometheus alert rules: valid (`promtool check rules`), firing on what they should and
 * not on near misses (`promtool test rules`), and written against metric names the code
 * really exports. promtool comes from Debian's `prometheus` package (scripts/install-system-deps.sh);
 * without it those checks are skipped and listed at the end of the run, and under
 * NST_REQUIRE_TEST_TOOLS=1 (CI) a missing promtool fails it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { hasTool, needTool } from '@nst/runtime/test-tools';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMetricsRegistry, createPlatformMetrics } from '@nst/runtime';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createGatewayMetrics } from '@nst/gateway';

const DIR = fileURLToPath(new URL('../../../observability/prometheus/', import.meta.url));
/** Metrics the rules read from outside the platform: Prometheus itself and kube-state-metrics. */
const EXTERNAL = new Set(['up', 'kube_pod_status_ready']);

const promtool = needTool('Prometheus rule checks', 'promtool (Debian package prometheus)', hasTool('promtool'));

function run(args: string[]): { status: number; output: string } {
  const result = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

describe('Prometheus alert rules', () => {
  it.runIf(promtool)('pass promtool check rules', () => {
    const { status, output } = run(['check', 'rules', 'alerts.yml']);
    expect(output).toContain('SUCCESS: 8 rules found');
    expect(status).toBe(0);
  });

  it.runIf(promtool)('pass their promtool unit tests', () => {
    const { status, output } = run(['test', 'rules', 'alerts.test.yml']);
    expect(status, output).toBe(0);
  });

  it('cover every alert the platform promises', () => {
    const rules = parse(readFileSync(`${DIR}alerts.yml`, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts.sort()).toEqual(
      ['NstCanaryRolledBack', 'NstHighErrorRate', 'NstNoTraffic', 'NstPodNotReady', 'NstQueueSaturated', 'NstStylizeLatencyHigh', 'NstTargetDown', 'NstTrainingFailing'].sort(),
    );
  });

  it('read only metrics the code exports', async () => {
    const exported = new Set<string>();
    for (const registry of [createPlatformMetrics(createMetricsRegistry({ defaultMetrics: false })).registry, createGatewayMetrics({ defaultMetrics: false }).registry]) {
      for (const metric of await registry.getMetricsAsJSON()) {
        exported.add(metric.name);
        if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
      }
    }
    const rules = parse(readFileSync(`${DIR}alerts.yml`, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    // Metric names in PromQL: identifiers followed by a selector, a range or a comparison.
    const FUNCTIONS = new Set(['sum', 'by', 'rate', 'increase', 'histogram_quantile', 'or', 'vector', 'and', 'max']);
    const used = new Set(
      rules.groups
        .flatMap((g) => g.rules.map((r) => r.expr.replace(/\{[^}]*\}/g, '{}').replace(/"[^"]*"/g, '')))
        .flatMap((expr) => [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\b(?=\s*[{[=<>!)]|\s*$)/g)].map((m) => m[1] as string))
        .filter((name) => !FUNCTIONS.has(name) && !/^(job|method|code|le|style|kind|namespace|pod)$/.test(name)),
    );
    expect(used.size).toBeGreaterThan(5);
    const unknown = [...used].filter((name) => !exported.has(name) && !EXTERNAL.has(name));
    expect(unknown, `exported: ${[...exported].join(', ')}`).toEqual([]);
  });
});

// Keeps the promtool version in the test output, for reading CI logs.
if (promtool) process.stdout.write(`${execFileSync('promtool', ['--version'], { encoding: 'utf8' }).split('\n')[0]}\n`);

/**
 * What tracing costs a 1-megapixel stylize: two StyleService processes started as `npm start`
 * starts them (telemetry entry point loaded), one exporting every span over OTLP
 * http/protobuf to a receiver in this process (sampling 100%), one with tracing off, called
 * alternately (off, on, on, off...) with the same photo, timed at the client. Prints the
 * median of on/off per pair as a ratio, for wall time at the client and for the CPU time the
 * service process spent (user + system, all its threads, from /proc): on a machine shared with
 * other work, wall time swings with the load; CPU time per request much less. Target: under
 * 1.03. Not a CI gate.
 *
 *   node --import tsx observability/bench/tracing.bench.ts [--pairs 8] [--megapixels 1]
 */
import { freePort, header, photoJpeg, registerTinyStyle, startOtlpReceiver, stylize } from '@nst/test-kit';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { OutputFormat, StyleServiceClient } from '@nst/proto';
import { loadConfig, ModelRegistry, waitForServing } from '@nst/runtime';
import { initBackend, STARTER_CONFIG } from '@nst/trainer';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({ options: { pairs: { type: 'string', default: '8' }, megapixels: { type: 'string', default: '1' } } });
const pairs = Number(values.pairs);
const megapixels = Number(values.megapixels);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const dir = await mkdtemp(join(tmpdir(), 'nst-tracing-bench-'));
const receiver = await startOtlpReceiver();
const children: ChildProcess[] = [];
try {
  const config = loadConfig({ NST_DATA_DIR: dir });
  await initBackend('wasm');
  const registry = await ModelRegistry.open(config.registryDir);
  // The starter network with random weights: the cost does not depend on training.
  await registerTinyStyle(registry, 'bench', [7], { network: STARTER_CONFIG });

  /** CPU seconds (user + system, every thread) a process has used, from /proc/<pid>/stat. */
  const cpuSeconds = (pid: number): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  // StyleService fetches the model from TrainerService, which owns the registry.
  const trainerAddr = `127.0.0.1:${await freePort()}`;
  const trainerEnv: NodeJS.ProcessEnv = { ...process.env, NST_DATA_DIR: dir, NST_TRAINER_ADDR: trainerAddr, NST_TRAINER_METRICS_PORT: '0', NST_STARTER_DIR: `${dir}/no-starters`, NST_LOG_LEVEL: 'warn' };
  delete trainerEnv['OTEL_EXPORTER_OTLP_ENDPOINT'];
  children.push(spawn(process.execPath, ['--import', 'tsx', 'trainer/src/main.ts'], { cwd: REPO, env: trainerEnv, stdio: ['ignore', 'ignore', 'inherit'] }));
  await waitForServing(trainerAddr, { timeoutMs: 180_000 });
  const start = async (tracing: boolean): Promise<{ client: StyleServiceClient; pid: number }> => {
    const port = await freePort();
    const name = `nst-style-${tracing ? 'traced' : 'plain'}`;
    const env: NodeJS.ProcessEnv = { ...process.env, NST_DATA_DIR: dir, NST_TRAINER_ADDR: trainerAddr, NST_MODEL_CACHE_DIR: `${dir}/${name}/models`, NST_ROUTING_STATE_FILE: `${dir}/${name}/last-rollouts.json`, NST_STYLE_ADDR: `127.0.0.1:${port}`, NST_STYLE_METRICS_PORT: '0', NST_LOG_LEVEL: 'warn', OTEL_SERVICE_NAME: name };
    delete env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    delete env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
    if (tracing) Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_TRACES_SAMPLER: 'always_on' });
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', '@nst/runtime/telemetry/register', 'inference/src/main.ts'], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    await waitForServing(`127.0.0.1:${port}`, { timeoutMs: 180_000 });
    const client = new StyleServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    return { client, pid: child.pid as number };
  };
  const [plain, traced] = [await start(false), await start(true)];

  const width = Math.round(Math.sqrt((megapixels * 1e6 * 4) / 3));
  const height = Math.round((width * 3) / 4);
  const photo = await photoJpeg(width, height);
  const head = header('bench', { format: OutputFormat.OUTPUT_FORMAT_JPEG, quality: 90 });
  const cpu: Record<string, number[]> = { on: [], off: [] };
  const time = async (side: { client: StyleServiceClient; pid: number }): Promise<number> => {
    const cpuBefore = cpuSeconds(side.pid);
    const started = performance.now();
    const outcome = await stylize(side.client, head, photo);
    if (!outcome.summary) throw new Error(`stylize failed: ${outcome.error?.details}`);
    const wall = performance.now() - started;
    // Span export is batched: let the exporter's work for this request land in this sample.
    await new Promise((resolve) => setTimeout(resolve, 300));
    cpu[side === traced ? 'on' : 'off']?.push(cpuSeconds(side.pid) - cpuBefore);
    return wall;
  };
  console.log(`tracing bench: ${width}x${height} JPEG, ${pairs} pairs, ${cpus().length} CPUs, load ${loadavg()[0]?.toFixed(1)}`);
  // Warm-up: model load and first-run allocation on both.
  await time(plain);
  await time(traced);
  const ratios: number[] = [];
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < pairs; i++) {
    // Alternate which side goes first, so drift in the machine's load does not favour one.
    let offMs: number;
    let onMs: number;
    if (i % 2 === 0) {
      offMs = await time(plain);
      onMs = await time(traced);
    } else {
      onMs = await time(traced);
      offMs = await time(plain);
    }
    off.push(offMs);
    on.push(onMs);
    ratios.push(onMs / offMs);
    console.log(`  pair ${i + 1}: off ${offMs.toFixed(0)} ms, on ${onMs.toFixed(0)} ms, ratio ${(onMs / offMs).toFixed(3)}`);
  }
  await receiver.waitFor((spans) => spans.filter((s) => s.name === 'encode').length >= pairs + 1, 30_000).catch(() => undefined);
  const perRequest = receiver.spans.length / (pairs + 1);
  console.log(`median off ${median(off).toFixed(0)} ms, on ${median(on).toFixed(0)} ms; spans exported per request: ${perRequest.toFixed(1)}`);
  console.log(`tracing on / off, wall time at the client (median of per-pair ratios): ${median(ratios).toFixed(3)}  (target < 1.03)`);
  const [cpuOn, cpuOff] = [cpu['on']!.slice(1), cpu['off']!.slice(1)];
  const cpuRatios = cpuOn.map((value, i) => value / (cpuOff[i] as number));
  console.log(`service CPU per request: off ${median(cpuOff).toFixed(2)} s, on ${median(cpuOn).toFixed(2)} s`);
  console.log(`tracing on / off, service CPU time (median of per-pair ratios): ${median(cpuRatios).toFixed(3)}  (target < 1.03)`);
  plain.client.close();
  traced.client.close();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
}

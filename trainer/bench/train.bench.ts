/**
 * Training-step benchmark: ms per Adam step of a StyleNet with the project's loss, on the
 * WASM backend with the project's kernels, against the pure-JS CPU backend and a PyTorch
 * training step of the same network (peer_train_torch.py, 2 threads), measured in the same
 * run. Prints ratios and the time a 300-step fine-tune would take.
 *
 * Then one job on several cores: steps/s of the same step (starter network, 128x128, batch
 * 4, the 'random' and the 'inception' loss) with the WASM backend on 1 and on 2 threads
 * (backend.ts: the package's threaded SIMD build, every XNNPACK op split across the
 * threads), against the PyTorch peer's step on 1 and 2 threads (its loss is the random
 * network's, so the 'inception' rows are compared with the same peer step: a lower bound).
 *
 *   node --import tsx trainer/bench/train.bench.ts [--johnson-cpu] [--steps N] [--only-threads]
 *
 * The CPU backend is ~two orders of magnitude slower (minutes per step at 256x256), so the
 * WASM/CPU ratio is measured on the same small problem (one step, 128x128, batch 1, on both
 * backends) and the CPU time at the full size is that ratio times the WASM time (stated in
 * the output).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type TrainingBackend } from '../src/kernels/backend.js';
import { StyleLoss, type LossNetworkName } from '../src/loss/style-loss.js';
import { JOHNSON_CONFIG, STARTER_CONFIG, StyleNet, type StyleNetConfig } from '@nst/style-network';

export interface TrainBenchOptions {
  size?: number;
  batch?: number;
  /** Timed steps per WASM measurement (after one warm-up step). */
  steps?: number;
  /** Also time Johnson on the CPU backend (several minutes). */
  johnsonOnCpu?: boolean;
  torch?: boolean;
  /** Skip the 256x256 rows: only the 1-vs-2-thread comparison. */
  onlyThreads?: boolean;
  log?: (line: string) => void;
}

export interface ThreadsRow {
  lossNetwork: LossNetworkName;
  threads: number;
  msPerStep: number;
  stepsPerSec: number;
  /** The PyTorch peer's step on as many threads (random-feature loss). */
  torchStepsPerSec?: number;
}

export interface TrainBenchRow {
  config: 'starter' | 'johnson';
  batch: number;
  wasmMs: number;
  cpuMs?: number;
  cpuNote?: string;
  torchMs?: number;
}

export interface TrainBenchResult {
  size: number;
  batch: number;
  rows: TrainBenchRow[];
  fineTune300StepsMinutes?: number;
  threads: ThreadsRow[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median ms of `steps` training steps (after one warm-up) on the current backend. */
function timeSteps(
  config: StyleNetConfig,
  size: number,
  batch: number,
  steps: number,
  warmup: boolean,
  network: LossNetworkName = 'random',
): number {
  const net = StyleNet.create(config, 1);
  const style = tf.randomUniform([size, size, 3], 0, 1, 'float32', 2) as tf.Tensor3D;
  const loss = new StyleLoss({ styleImage: style, imageSize: size, network });
  const x = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const optimizer = tf.train.adam(1e-3);
  const variables = Object.values(net.variables);
  const step = () => {
    const cost = optimizer.minimize(() => loss.terms(net.apply(x), x).total, true, variables);
    cost?.dataSync();
    cost?.dispose();
  };
  try {
    if (warmup) step();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const started = performance.now();
      step();
      times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    optimizer.dispose();
    tf.dispose([style, x]);
    loss.dispose();
    net.dispose();
  }
}

async function torchStep(config: StyleNetConfig, size: number, batch: number, threads = 2, steps = 3): Promise<number | undefined> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'peer_train_torch.py');
  const [c1, c2, c3] = config.channels;
  const args = [script, size, batch, steps, threads, c1, c2, c3, config.residualBlocks, config.outerKernel].map(String);
  try {
    // Debian's python3-torch lives in the system interpreter, not in a pyenv shim.
    const { stdout } = await promisify(execFile)('/usr/bin/python3', args, { timeout: 20 * 60_000 });
    const match = /median_ms=(\d+)/.exec(stdout);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function use(backend: TrainingBackend, threads = 1): Promise<void> {
  const got = await initBackend(backend, { threads });
  if (got !== backend) throw new Error(`wanted backend ${backend}, got ${got}`);
}

/** Steps/s of one job on 1 and 2 WASM threads, and of the PyTorch peer on as many. */
async function benchThreads(options: TrainBenchOptions, log: (line: string) => void): Promise<ThreadsRow[]> {
  const size = 128;
  const batch = 4;
  const steps = Math.max(options.steps ?? 3, 5);
  const counts = [1, 2];
  log(`one job on several cores: starter network, ${size}x${size}, batch ${batch}, Adam, median of ${steps} steps`);
  const torch = new Map<number, number | undefined>();
  if (options.torch !== false) {
    for (const threads of counts) torch.set(threads, await torchStep(STARTER_CONFIG, size, batch, threads, steps));
  }
  const rows: ThreadsRow[] = [];
  for (const lossNetwork of ['random', 'inception'] as const) {
    for (const threads of counts) {
      await use('wasm', threads);
      const msPerStep = timeSteps(STARTER_CONFIG, size, batch, steps, true, lossNetwork);
      const torchMs = torch.get(threads);
      rows.push({ lossNetwork, threads, msPerStep, stepsPerSec: 1000 / msPerStep, ...(torchMs ? { torchStepsPerSec: 1000 / torchMs } : {}) });
    }
    const [one, two] = rows.slice(-2) as [ThreadsRow, ThreadsRow];
    for (const row of [one, two]) {
      const peer = row.torchStepsPerSec
        ? `; pytorch ${row.threads} thread${row.threads > 1 ? 's' : ''} ${row.torchStepsPerSec.toFixed(2)} steps/s, wasm/pytorch ${(row.stepsPerSec / row.torchStepsPerSec).toFixed(2)}`
        : '; pytorch not available (/usr/bin/python3 with torch)';
      log(`  ${lossNetwork} loss, ${row.threads} thread${row.threads > 1 ? 's' : ''}: ${row.msPerStep.toFixed(0)} ms/step, ${row.stepsPerSec.toFixed(2)} steps/s${peer}`);
    }
    log(`  ${lossNetwork} loss: 2 threads / 1 thread = ${(two.stepsPerSec / one.stepsPerSec).toFixed(2)}x steps/s`);
  }
  await use('wasm', 1);
  return rows;
}

export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const size = options.size ?? 256;
  const batch = options.batch ?? 4;
  const steps = options.steps ?? 3;
  const log = options.log ?? ((line: string) => console.log(line));
  // Johnson at batch 4 and 256x256 needs ~5.4 GB of activations for autodiff, more than the
  // WASM heap can address (4 GB): it is measured at half the batch (on every engine).
  const configs: Array<['starter' | 'johnson', StyleNetConfig, number]> = [
    ['starter', STARTER_CONFIG, batch],
    ['johnson', JOHNSON_CONFIG, Math.max(1, Math.floor(batch / 2))],
  ];
  const rows: TrainBenchRow[] = [];
  if (options.onlyThreads) return { size, batch, rows, threads: await benchThreads(options, log) };
  log(`training step, ${size}x${size}, batch ${batch}, Adam, project loss (random-feature means+covariances at 1x and 0.5x, content, colour, TV)`);
  for (const [name, config, rowBatch] of configs) {
    await use('wasm');
    const row: TrainBenchRow = { config: name, batch: rowBatch, wasmMs: timeSteps(config, size, rowBatch, steps, true) };
    log(`  ${name} ${JSON.stringify(config)} batch ${rowBatch}: wasm (project kernels, 1 thread) ${row.wasmMs.toFixed(0)} ms/step`);
    if (name === 'starter' || options.johnsonOnCpu) {
      const small = 128;
      const wasmSmall = timeSteps(config, small, 1, 2, true);
      await use('cpu');
      const cpuSmall = timeSteps(config, small, 1, 1, false);
      const ratio = cpuSmall / wasmSmall;
      row.cpuMs = ratio * row.wasmMs;
      row.cpuNote = `ratio measured at ${small}x${small} batch 1: cpu ${cpuSmall.toFixed(0)} ms vs wasm ${wasmSmall.toFixed(0)} ms`;
      log(`  ${name}: cpu (pure JS) ~${row.cpuMs.toFixed(0)} ms/step (${row.cpuNote}); wasm is ${ratio.toFixed(1)}x faster`);
    } else {
      log(`  ${name}: cpu not measured (minutes per step; pass --johnson-cpu)`);
    }
    if (options.torch !== false) {
      const torchMs = await torchStep(config, size, rowBatch);
      if (torchMs !== undefined) {
        row.torchMs = torchMs;
        log(`  ${name}: pytorch (2 threads) ${torchMs.toFixed(0)} ms/step; wasm/pytorch time ratio ${(row.wasmMs / torchMs).toFixed(2)}`);
      } else {
        log(`  ${name}: pytorch not available (/usr/bin/python3 with torch)`);
      }
    }
    rows.push(row);
  }
  await use('wasm');
  const starter = rows[0]!;
  const fineTune300StepsMinutes = (300 * starter.wasmMs) / 60_000;
  log(`300-step fine-tune of a starter style at ${size}px batch ${batch}: ~${fineTune300StepsMinutes.toFixed(1)} min on one core (target < 15)`);
  const threads = await benchThreads(options, log);
  return { size, batch, rows, fineTune300StepsMinutes, threads };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const stepsAt = argv.indexOf('--steps');
  runTrainBench({
    johnsonOnCpu: argv.includes('--johnson-cpu'),
    onlyThreads: argv.includes('--only-threads'),
    ...(stepsAt >= 0 ? { steps: Number(argv[stepsAt + 1]) } : {}),
  }).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

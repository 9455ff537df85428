/**
 * Picks the TF.js backend for training.
 *
 * Order: `@tensorflow/tfjs-node` (native TensorFlow) when it can be loaded; it is NOT a
 * dependency (its install downloads libtensorflow from outside, impossible here), so it is
 * only picked up if someone installed it themselves: `npm i -w @nst/trainer @tensorflow/tfjs-node`.
 * Otherwise the WASM backend with the project's Conv2DBackpropFilter kernel registered
 * (WASM has none), else the pure-JS CPU backend (about 60x slower than WASM).
 * `NST_TF_BACKEND=wasm|cpu|tensorflow` forces one.
 *
 * WASM threads: the package's stock backend runs on one thread in Node. With `threads` > 1
 * (or `NST_TRAIN_THREADS`), the WASM backend is the package's threaded SIMD build loaded by
 * wasm-threads.ts, whose XNNPACK pool (convolutions, matrix products: most of a training
 * step) splits each op across that many threads, the calling one included. The count is
 * process-wide; changing it re-creates the backend, so it is refused while tensors live on it.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradient functions and its ESM gradient files cannot be
// loaded by Node; the union package's Node bundle registers all of them (global registry).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputWasmConfig } from './conv2d-backprop-input.js';
import { castWasmConfig, identityWasmConfig } from './identity.js';
import { meanWasmConfig, sumWasmConfig } from './reduce.js';
import { avgPoolGradWasmConfig, resizeNearestNeighborGradCpuConfig, resizeNearestNeighborGradWasmConfig } from './sampling-grads.js';
import { sliceWasmConfig } from './slice.js';
import { createWasmBackend, MAX_WASM_THREADS } from './wasm-threads.js';

export type TrainingBackend = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /**
   * Threads of the WASM backend (default: NST_TRAIN_THREADS, a number or "auto" for every
   * core, else 1; at most MAX_WASM_THREADS, 8). Ignored by the other backends.
   */
  threads?: number;
}

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

let wasmKernelsRegistered = false;

/** Swaps a WASM kernel for ours, handing ours the original as its fallback. */
function replaceWasmKernel(kernelName: string, make: (original: tf.KernelConfig | undefined) => tf.KernelConfig): void {
  const original = tf.getKernel(kernelName, 'wasm');
  if (original) tf.unregisterKernel(kernelName, 'wasm');
  // The original's setup binds its WASM function to the backend instance: it must run again
  // when the backend is re-created (a change of thread count), or the fallback would call
  // into the disposed module.
  const replacement = make(original);
  tf.registerKernel({
    ...replacement,
    ...(original?.setupFunc ? { setupFunc: original.setupFunc } : {}),
    ...(original?.disposeFunc ? { disposeFunc: original.disposeFunc } : {}),
  });
}

/**
 * Registers the project's WASM kernels: Conv2DBackpropFilter (missing from the backend),
 * and faster Conv2DBackpropInput, Slice, Sum, Mean, Identity, Cast, AvgPoolGrad and
 * ResizeNearestNeighborGrad (the backend's own stay as fallbacks
 * for cases ours do not handle). Call after the WASM backend is initialised: an original
 * kernel's setup (binding its WASM function) runs at initialisation, and only for kernels
 * registered by then.
 */
export function registerWasmKernels(): void {
  if (wasmKernelsRegistered) return;
  wasmKernelsRegistered = true;
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.registerKernel(conv2dBackpropFilterWasmConfig);
  replaceWasmKernel('Conv2DBackpropInput', conv2dBackpropInputWasmConfig);
  replaceWasmKernel('Slice', sliceWasmConfig);
  replaceWasmKernel('Sum', sumWasmConfig);
  replaceWasmKernel('Mean', meanWasmConfig);
  replaceWasmKernel('Identity', identityWasmConfig);
  replaceWasmKernel('Cast', castWasmConfig);
  replaceWasmKernel('AvgPoolGrad', avgPoolGradWasmConfig);
  replaceWasmKernel('ResizeNearestNeighborGrad', resizeNearestNeighborGradWasmConfig);
}

let cpuKernelsRegistered = false;

/**
 * The CPU backend's ResizeNearestNeighborGrad is wrong for batch > 1 in tfjs 4.22 (see
 * sampling-grads.ts); every StyleNet upsamples, so CPU training needs the fixed kernel.
 */
export function registerCpuKernels(): void {
  if (cpuKernelsRegistered) return;
  cpuKernelsRegistered = true;
  const original = tf.getKernel('ResizeNearestNeighborGrad', 'cpu');
  if (original) tf.unregisterKernel('ResizeNearestNeighborGrad', 'cpu');
  tf.registerKernel(resizeNearestNeighborGradCpuConfig(original));
}

async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  registerCpuKernels();
}

/** Threads of the WASM backend as registered now (1: the package's own single-threaded one). */
let wasmThreads = 1;
/** The package registers its backend at this priority. */
const WASM_PRIORITY = 2;

/** Threads the WASM backend runs on once initialised (see initBackend's `threads`). */
export function wasmThreadCount(): number {
  return wasmThreads;
}

function threadsFromEnv(): number | undefined {
  const raw = process.env['NST_TRAIN_THREADS'];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'auto') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`NST_TRAIN_THREADS must be a whole number from 1 to 256 or "auto", got "${raw}"`);
  return n;
}

async function useWasm(threads: number): Promise<boolean> {
  if (!wasmPathsSet) {
    // In Node the package would look for the .wasm files next to the calling script.
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    setWasmPaths(dist + path.sep);
    wasmPathsSet = true;
  }
  if (threads !== wasmThreads) {
    const live = tf.engine().registry['wasm']?.numDataIds() ?? 0;
    if (live > 0) {
      throw new Error(
        `cannot change the WASM backend from ${wasmThreads} to ${threads} threads while ${live} tensors live on it (choose the count before creating tensors)`,
      );
    }
    if (tf.findBackendFactory('wasm')) tf.removeBackend('wasm');
    setThreadsCount(threads);
    tf.registerBackend('wasm', () => createWasmBackend(threads), WASM_PRIORITY);
    wasmThreads = threads;
  }
  if (!(await tf.setBackend('wasm'))) return false;
  registerWasmKernels();
  return true;
}

async function useTensorflow(): Promise<boolean> {
  try {
    // Kept out of static imports and dependencies on purpose: see the module comment.
    const moduleName = '@tensorflow/tfjs-node';
    await import(/* @vite-ignore */ moduleName);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

function forcedBackend(): TrainingBackend | undefined {
  const forced = process.env['NST_TF_BACKEND'];
  if (forced === undefined || forced === '') return undefined;
  if (forced === 'wasm' || forced === 'cpu' || forced === 'tensorflow') return forced;
  throw new Error(`NST_TF_BACKEND must be wasm, cpu or tensorflow, got "${forced}"`);
}

/**
 * Selects and initialises the training backend; returns its name. Safe to call repeatedly.
 * @param prefer overrides the automatic choice (NST_TF_BACKEND still wins over automatic, not over this).
 */
export async function initBackend(prefer?: TrainingBackend, options: BackendOptions = {}): Promise<TrainingBackend> {
  registerCpuKernels();
  const wanted = prefer ?? forcedBackend();
  const asked = options.threads ?? threadsFromEnv() ?? 1;
  if (!Number.isInteger(asked) || asked < 1) throw new Error(`WASM threads must be a positive whole number, got ${asked}`);
  const threads = Math.min(asked, MAX_WASM_THREADS);
  if (wanted === 'tensorflow') {
    if (await useTensorflow()) return 'tensorflow';
    throw new Error('backend "tensorflow" requested but @tensorflow/tfjs-node cannot be loaded');
  }
  if (wanted === 'wasm') {
    if (await useWasm(threads)) return 'wasm';
    throw new Error('backend "wasm" requested but it failed to initialise');
  }
  if (wanted === 'cpu') {
    await useCpu();
    return 'cpu';
  }
  if (await useTensorflow()) return 'tensorflow';
  if (await useWasm(threads)) return 'wasm';
  await useCpu();
  return 'cpu';
}

/**
 * A TF.js WASM backend whose XNNPACK pool runs on several threads, in Node.
 *
 * @tensorflow/tfjs-backend-wasm ships a threaded SIMD build (tfjs-backend-wasm-threaded-simd
 * .wasm, Emscripten pthreads) but never uses it in Node: its WASM_HAS_MULTITHREAD_SUPPORT flag
 * is hard-wired to false there (tfjs issue 3830), because its loader hands Emscripten the
 * pthread worker script and the main script as Blob URLs, which Node's worker_threads cannot
 * load. Emscripten's own Node support (worker_threads, Atomics.wait on the main thread) works:
 * this loader gives it file paths instead — the package's main script as it is, and its worker
 * script written once to the temp folder — and otherwise does what the package's init does
 * (same factory, same cwrap bridge, same BackendWasm).
 *
 * One more difference: the C++ side sizes its pool min(asked, 8, logical cores / 2) (it
 * assumes two hyperthreads per core), so on a 2-core machine it would keep one thread
 * whatever is asked. The loader instantiates the binary itself (Emscripten's instantiateWasm
 * hook) with the logical-core import answering 2 x threads, so the pool is the size asked
 * (up to the 8 workers the build pre-creates).
 *
 * threads 1 loads the package's non-threaded factory with the SIMD binary: exactly what the
 * package itself picks in Node.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

type Cwrap = (name: string, returnType: string | null, argTypes: string[]) => (...args: number[]) => unknown;

interface EmscriptenModule {
  cwrap: Cwrap;
  tfjs?: Record<string, (...args: number[]) => unknown>;
  /** Emscripten's pthread bookkeeping (threaded build only). */
  PThread?: { runningWorkers: Array<{ unref(): void }> };
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** Most threads: the threaded build pre-creates 8 pthread workers and caps its pool there. */
export const MAX_WASM_THREADS = 8;

function packageDirs(): { dist: string; wasmOut: string } {
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  return { dist, wasmOut: path.join(dist, '..', 'wasm-out') };
}

let workerFile: string | undefined;

/** The package's pthread worker script as a file (content-addressed, so written once). */
function pthreadWorkerScript(wasmOut: string): string {
  if (workerFile) return workerFile;
  const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The package stores the script in a template literal, which turned its '\n' escapes into
  // newlines; it puts them back the same way before making its Blob.
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `nst-tfjs-wasm-pthread-${hash}.cjs`);
  if (!existsSync(file)) {
    const partial = `${file}.${process.pid}.${Date.now()}.partial`;
    writeFileSync(partial, text);
    renameSync(partial, file);
  }
  workerFile = file;
  return file;
}

/** Initialises a WASM backend with `threads` XNNPACK threads (the calling thread among them). */
export async function createWasmBackend(threads: number): Promise<BackendWasm> {
  const { dist, wasmOut } = packageDirs();
  const threaded = threads > 1;
  const mainScript = path.join(wasmOut, threaded ? 'tfjs-backend-wasm-threaded-simd.js' : 'tfjs-backend-wasm.js');
  const binary = path.join(dist, threaded ? 'tfjs-backend-wasm-threaded-simd.wasm' : 'tfjs-backend-wasm-simd.wasm');
  const factory = require(mainScript) as Factory;
  const config: Record<string, unknown> = {
    locateFile: (file: string) => {
      if (file.endsWith('.worker.js')) return pthreadWorkerScript(wasmOut);
      if (file.endsWith('.wasm')) return binary;
      return path.join(wasmOut, file);
    },
  };
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  if (threaded) {
    // Each pthread worker evaluates this script to build its copy of the module.
    config['mainScriptUrlOrBlob'] = mainScript;
    config['instantiateWasm'] = (
      imports: WebAssembly.Imports,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ): Record<string, never> => {
      const env = { ...imports['env'], emscripten_num_logical_cores: () => 2 * threads };
      WebAssembly.instantiate(readFileSync(binary), { ...imports, env }).then(
        ({ instance, module }) => receive(instance, module),
        (error: unknown) => fail(error),
      );
      return {};
    };
  }
  const module = await Promise.race([factory(config), failed]);
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  // The constructor sizes the pool from setThreadsCount (called by the caller beforehand).
  const backend = new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
  // Emscripten refs the worker of every running pthread, and the pool's threads run (wait
  // for work) until the backend is disposed: without this the process, or the worker thread
  // a job trains in, would never exit on its own. Idle pool workers are unref'd the same way.
  for (const worker of module.PThread?.runningWorkers ?? []) worker.unref();
  return backend;
}

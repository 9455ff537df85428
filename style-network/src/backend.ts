/**
 * A TF.js backend to build networks and run them forward, for whoever exports models without
 * training them (StyleService's tests and benches, the test kit): the WASM backend as the
 * package ships it, else the pure-JS CPU one. A backend already chosen (the trainer's
 * initBackend, with its own kernels and threads) is kept.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

/**
 * Initialises a backend unless one is already in use; resolves with its name. `prefer: 'cpu'`
 * takes the pure-JS one (no WASM to load: enough when only the weights are needed).
 */
export async function initNetworkBackend(prefer?: 'wasm' | 'cpu'): Promise<string> {
  if (prefer === 'cpu') {
    await tf.setBackend('cpu');
    return 'cpu';
  }
  // The name of the backend in use, without initialising one (null until a backend is set).
  const current = tf.getBackend() as string | null;
  if (current === 'wasm' || current === 'cpu' || current === 'tensorflow') return current;
  if (!wasmPathsSet) {
    // In Node the package would look for the .wasm files next to the calling script.
    setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
    wasmPathsSet = true;
  }
  if (await tf.setBackend('wasm')) return 'wasm';
  await tf.setBackend('cpu');
  return 'cpu';
}

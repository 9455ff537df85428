import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';

/** Someone may have installed the optional native backend; these tests describe its absence. */
const hasTfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('initBackend', () => {
  const saved = process.env['NST_TF_BACKEND'];
  afterEach(async () => {
    if (saved === undefined) delete process.env['NST_TF_BACKEND'];
    else process.env['NST_TF_BACKEND'] = saved;
    await initBackend('wasm');
  });

  it.skipIf(hasTfjsNode)('picks WASM with the project kernel when tfjs-node is not installed', async () => {
    delete process.env['NST_TF_BACKEND'];
    expect(await initBackend()).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('honours NST_TF_BACKEND and rejects unknown values', async () => {
    process.env['NST_TF_BACKEND'] = 'cpu';
    expect(await initBackend()).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    process.env['NST_TF_BACKEND'] = 'gpu';
    await expect(initBackend()).rejects.toThrow(/NST_TF_BACKEND/);
  });

  it.skipIf(hasTfjsNode)('fails clearly when tensorflow is demanded but tfjs-node cannot be loaded', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/tfjs-node/);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { im2colLimits } from './conv2d-backprop-filter.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  outChannels: number;
  stride: number;
  pad: Pad;
}

const cases: Case[] = [
  { name: '3x3 same stride 1', x: [2, 9, 11, 5], k: [3, 3], outChannels: 7, stride: 1, pad: 'same' },
  { name: '3x3 same stride 2 (odd size)', x: [2, 9, 11, 6], k: [3, 3], outChannels: 8, stride: 2, pad: 'same' },
  { name: '3x3 valid stride 2', x: [1, 10, 8, 4], k: [3, 3], outChannels: 5, stride: 2, pad: 'valid' },
  { name: '9x9 same stride 1 (3 -> 8 channels)', x: [2, 14, 12, 3], k: [9, 9], outChannels: 8, stride: 1, pad: 'same' },
  { name: '9x9 same stride 1 (8 -> 3 channels, unrolls dy)', x: [2, 14, 12, 8], k: [9, 9], outChannels: 3, stride: 1, pad: 'same' },
  { name: 'explicit asymmetric padding', x: [1, 7, 9, 4], k: [3, 5], outChannels: 2, stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { name: 'explicit padding stride 3', x: [2, 11, 10, 3], k: [4, 4], outChannels: 6, stride: 3, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: '1x1 stride 2', x: [1, 6, 6, 4], k: [1, 1], outChannels: 3, stride: 2, pad: 'valid' },
];

function seeded(shape: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform(shape, -1, 1, 'float32', seed).dataSync() as Float32Array);
}

function filterShape(c: Case): [number, number, number, number] {
  return [c.k[0], c.k[1], c.x[3], c.outChannels];
}

/** dW and dX of sum(conv2d(x, w) * r) on the current backend. */
function gradients(c: Case, x: Float32Array, w: Float32Array): { dw: Float32Array; dx: Float32Array } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.x);
    const wt = tf.tensor4d(w, filterShape(c));
    const outShape = tf.conv2d(xt, wt, c.stride, c.pad).shape;
    const r = tf.tensor(seeded(outShape, 99), outShape);
    const loss = (...[a, b]: tf.Tensor[]) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r));
    const [dx, dw] = tf.grads(loss)([xt, wt]) as [tf.Tensor, tf.Tensor];
    return { dw: dw.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  });
}

function expectClose(actual: Float32Array, expected: Float32Array, relative = 1e-4) {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / Math.max(scale, 1e-12)).toBeLessThan(relative);
}

describe('WASM Conv2DBackpropFilter / Conv2DBackpropInput', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const c of cases) {
    it(`matches the CPU backend: ${c.name}`, async () => {
      const x = seeded(c.x, 1);
      const w = seeded(filterShape(c), 2);
      await tf.setBackend('cpu');
      const reference = gradients(c, x, w);
      await tf.setBackend('wasm');
      const ours = gradients(c, x, w);
      expectClose(ours.dw, reference.dw);
      expectClose(ours.dx, reference.dx);
    });
  }

  it('chunks large problems along the batch with the same result', async () => {
    const saved = im2colLimits.patchBudgetFloats;
    try {
      for (const c of [cases[1]!, cases[4]!]) {
        const x = seeded(c.x, 1);
        const w = seeded(filterShape(c), 2);
        await tf.setBackend('cpu');
        const reference = gradients(c, x, w);
        await tf.setBackend('wasm');
        im2colLimits.patchBudgetFloats = 1; // one image per chunk
        expectClose(gradients(c, x, w).dw, reference.dw);
        im2colLimits.patchBudgetFloats = saved;
      }
    } finally {
      im2colLimits.patchBudgetFloats = saved;
    }
  });

  it('calls the registered filter kernel directly and agrees with CPU (strided, 9x9)', async () => {
    const x = seeded([2, 20, 18, 3], 5);
    const dyShape: [number, number, number, number] = [2, 10, 9, 4];
    const dy = seeded(dyShape, 6);
    const run = () =>
      tf.tidy(() =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, [2, 20, 18, 3]), dy: tf.tensor4d(dy, dyShape) }, {
          strides: [2, 2],
          pad: 'same',
          dataFormat: 'NHWC',
          filterShape: [9, 9, 3, 4],
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      ).dataSync() as Float32Array;
    await tf.setBackend('cpu');
    const reference = run();
    await tf.setBackend('wasm');
    expectClose(run(), reference);
  });

  it('gives the exact gradient of a loss linear in the filter (finite differences)', () => {
    // L(w) = sum(conv2d(x, w) * r) is linear in w, so L(w + e_k) - L(w) is dL/dw_k exactly
    // (up to float32 rounding): a check independent of any other backend.
    const c: Case = { name: 'fd', x: [2, 8, 8, 3], k: [3, 3], outChannels: 4, stride: 2, pad: 'same' };
    const x = seeded(c.x, 3);
    const w = seeded(filterShape(c), 4);
    const { dw } = gradients(c, x, w);
    const lossAt = (wv: Float32Array) =>
      tf.tidy(() => {
        const xt = tf.tensor4d(x, c.x);
        const out = tf.conv2d(xt, tf.tensor4d(wv, filterShape(c)), c.stride, c.pad);
        return tf.sum(tf.mul(out, tf.tensor(seeded(out.shape, 99), out.shape))).dataSync()[0]!;
      });
    const base = lossAt(w);
    for (const k of [0, 7, 50, w.length - 1]) {
      const bumped = w.slice();
      bumped[k]! += 1;
      expect(lossAt(bumped) - base).toBeCloseTo(dw[k]!, 3);
    }
  });

  it('does not leak tensors or backend memory', () => {
    const c = cases[1]!;
    const x = seeded(c.x, 1);
    const w = seeded(filterShape(c), 2);
    gradients(c, x, w);
    const before = tf.memory();
    gradients(c, x, w);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';

/** Runs f on the CPU backend and on WASM (with the project's kernels) over the same data. */
async function bothBackends(f: () => tf.Tensor): Promise<{ cpu: tf.TypedArray; wasm: tf.TypedArray; shapes: number[][] }> {
  await tf.setBackend('cpu');
  const a = tf.tidy(f);
  const cpu = a.dataSync().slice();
  await tf.setBackend('wasm');
  const b = tf.tidy(f);
  const wasm = b.dataSync().slice();
  const shapes = [a.shape, b.shape];
  tf.dispose([a, b]);
  return { cpu, wasm, shapes };
}

function expectSame({ cpu, wasm, shapes }: { cpu: tf.TypedArray; wasm: tf.TypedArray; shapes: number[][] }) {
  expect(shapes[1]).toEqual(shapes[0]);
  expect(wasm.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) expect(Math.abs(wasm[i]! - cpu[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(cpu[i]!)));
}

const input = () => tf.randomNormal([3, 7, 5, 6], 0, 1, 'float32', 42);

describe('replacement WASM kernels agree with the CPU backend', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const reductions: Array<[string, number | number[] | undefined, boolean]> = [
    ['batch and space (bias gradient)', [0, 1, 2], false],
    ['space, kept dims (instance norm)', [1, 2], true],
    ['space', [1, 2], false],
    ['batch only', 0, false],
    ['negative axes', [-3, -2], true],
    ['innermost (delegated)', [3], false],
    ['all axes (delegated)', undefined, false],
    ['non-contiguous (delegated)', [0, 2], true],
  ];
  for (const [name, axis, keepDims] of reductions) {
    it(`Sum and Mean: ${name}`, async () => {
      expectSame(await bothBackends(() => tf.sum(input(), axis, keepDims)));
      expectSame(await bothBackends(() => tf.mean(input(), axis, keepDims)));
    });
  }

  it('Slice: contiguous, strided rows, rank 2, 3, 5 and int32', async () => {
    expectSame(await bothBackends(() => tf.slice(input(), [1, 0, 0, 0], [2, 7, 5, 6])));
    expectSame(await bothBackends(() => tf.slice(input(), [0, 2, 1, 3], [3, 4, 3, 2])));
    expectSame(await bothBackends(() => tf.slice(tf.reshape(input(), [21, 30]), [3, 4], [5, 6])));
    expectSame(await bothBackends(() => tf.slice(tf.reshape(input(), [21, 5, 6]), [1, 1, 1], [4, 3, 5])));
    expectSame(await bothBackends(() => tf.slice(tf.reshape(input(), [3, 7, 5, 3, 2]), [1, 2, 0, 1, 1], [2, 3, 5, 2, 1])));
    expectSame(await bothBackends(() => tf.slice(tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [1, 1, 2], [2, 2, 2])));
  });
});

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

describe('replacement WASM gradient kernels agree with the CPU backend', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const weights = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', 9);

  it('AvgPoolGrad: 2x2 stride 2 on even and odd sizes, and a delegated 3x3', async () => {
    for (const [shape, size, stride] of [
      [[2, 8, 6, 3], 2, 2],
      [[1, 7, 9, 4], 2, 2],
      [[1, 7, 9, 4], 3, 2],
    ] as Array<[[number, number, number, number], number, number]>) {
      const f = () => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 1) as tf.Tensor4D;
        const pooled = tf.avgPool(x, size, stride, 'valid');
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, size, stride, 'valid'), weights(pooled.shape))))(x);
      };
      expectSame(await bothBackends(f));
    }
  });

  it('ResizeNearestNeighborGrad (WASM and CPU): x2 with batch 2, x3 non-square, half-pixel, align corners, non-integer', async () => {
    // Reference computed directly: tfjs's own kernels are wrong for batch > 1 (they mix up
    // images), so neither backend's original can be the reference here.
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      for (const [shape, size, halfPixel, alignCorners] of [
        [[2, 4, 5, 3], [8, 10], false, false],
        [[1, 3, 2, 2], [9, 4], false, false],
        [[2, 4, 4, 2], [8, 8], true, false],
        [[2, 4, 4, 2], [6, 7], false, false],
        [[2, 4, 5, 2], [7, 9], false, true],
      ] as Array<[[number, number, number, number], [number, number], boolean, boolean]>) {
        const [batch, h, w, c] = shape;
        const [oh, ow] = size;
        const upstream = weights([batch, oh, ow, c]);
        const ours = tf.tidy(() =>
          tf
            .grad((t: tf.Tensor) =>
              tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixel), upstream)),
            )(tf.zeros(shape))
            .dataSync(),
        );
        const up = upstream.dataSync();
        const expected = new Float32Array(batch * h * w * c);
        const source = (o: number, inSize: number, outSize: number) => {
          const ratio = alignCorners ? (inSize - 1) / (outSize - 1) : inSize / outSize;
          const frac = halfPixel ? (o + 0.5) * ratio : o * ratio;
          return Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
        };
        for (let b = 0; b < batch; b++)
          for (let y = 0; y < oh; y++)
            for (let x = 0; x < ow; x++)
              for (let k = 0; k < c; k++)
                expected[((b * h + source(y, h, oh)) * w + source(x, w, ow)) * c + k]! += up[((b * oh + y) * ow + x) * c + k]!;
        for (let i = 0; i < expected.length; i++) expect(Math.abs(ours[i]! - expected[i]!)).toBeLessThan(1e-4);
        upstream.dispose();
      }
    }
    await tf.setBackend('wasm');
  });
});

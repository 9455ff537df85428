import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from './colour-transfer';
import { createJudge, JUDGE_LAYERS } from './judge';
import { styleDistance } from './scores';

function pattern(size: number, f: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set(f(x, y), (y * size + x) * 3);
  return { data, width: size, height: size };
}

/** Cells of 8 px in two colours drawn by a seeded hash: the same texture for every seed. */
const cells = (seed: number) =>
  pattern(96, (x, y) => {
    const h = Math.imul((Math.floor(x / 8) + 31 * Math.floor(y / 8)) ^ seed, 2654435761) >>> 0;
    return h % 2 ? [0.9, 0.2, 0.1] : [0.1, 0.2, 0.8];
  });
const smooth = pattern(96, (x, y) => [x / 96, y / 96, 0.5]);

describe('the ImageNet judge (MobileNetV2)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reads features at four strides and ranks the same texture drawn anew far closer than a different picture', () => {
    const judge = createJudge();
    const shapes = judge.extract(tf.zeros([1, 96, 96, 3])).map((f) => f.shape);
    expect(shapes.map((s) => s[1])).toEqual([48, 24, 12, 6]);
    expect(judge.network.outputs).toEqual(JUDGE_LAYERS);
    const same = styleDistance(judge.extract, cells(2), cells(1));
    const other = styleDistance(judge.extract, smooth, cells(1));
    judge.dispose();
    expect(same).toBeLessThan(0.1);
    expect(other).toBeGreaterThan(0.5);
  });
});

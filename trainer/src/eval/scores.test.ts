import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFeatureNetwork } from '../loss/features';
import type { RgbImage } from './colour-transfer';
import { contentStructure, saturatedFraction, styleDistance } from './scores';

function pattern(width: number, height: number, f: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 3);
  return { data, width, height };
}

const stripes = (phase: number) => pattern(48, 48, (x) => (Math.floor((x + phase) / 4) % 2 ? [0.9, 0.2, 0.1] : [0.1, 0.2, 0.8]));
const smooth = pattern(48, 48, (x, y) => [x / 48, y / 48, 0.5]);

describe('quality scores', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('style distance is small for the same texture shifted and large for a different picture', () => {
    const judge = createFeatureNetwork({ seed: 99 });
    const same = styleDistance(judge.features, stripes(2), stripes(0));
    const other = styleDistance(judge.features, smooth, stripes(0));
    judge.dispose();
    expect(same).toBeLessThan(0.2);
    expect(other).toBeGreaterThan(same * 3);
  });

  it('content structure is 1 for the same picture and lower for another', () => {
    expect(contentStructure(smooth, smooth)).toBeCloseTo(1, 5);
    expect(contentStructure(stripes(0), smooth)).toBeLessThan(0.5);
  });

  it('counts pure blue and other primaries as saturated, but not black, white, or dark and bright tones', () => {
    const half = pattern(10, 10, (x) => (x < 5 ? [0, 0, 1] : [0.3, 0.2, 0.6]));
    expect(saturatedFraction(half)).toBeCloseTo(0.5, 5);
    const neutral = pattern(10, 10, (x, y) => (x < 5 ? [0, 0, 0] : y < 5 ? [1, 1, 1] : [0.15, 0.2, 0.85]));
    expect(saturatedFraction(neutral)).toBe(0);
    expect(saturatedFraction(pattern(4, 4, () => [1, 0.02, 0.97]))).toBe(1);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFeatureNetwork } from '../loss/features';
import type { RgbImage } from './colour-transfer';
import { contentStructure, gridStrength, saturatedFraction, styleDistance, styleDistanceByLayer } from './scores';

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

  it('by layer: one distance per feature layer, zero for the picture itself, their mean is the style distance', () => {
    const judge = createFeatureNetwork({ seed: 99 });
    const perLayer = styleDistanceByLayer(judge.features, smooth, stripes(0));
    expect(perLayer).toHaveLength(judge.channels.length);
    expect(perLayer.every((d) => d > 0)).toBe(true);
    expect(styleDistance(judge.features, smooth, stripes(0))).toBeCloseTo(perLayer.reduce((a, b) => a + b) / perLayer.length, 6);
    expect(Math.max(...styleDistanceByLayer(judge.features, stripes(0), stripes(0)))).toBeLessThan(1e-6);
    judge.dispose();
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

  it('finds dashes repeating on a diagonal lattice, and no lattice in noise, smooth shading or strokes of varied length', () => {
    const dashes = pattern(128, 128, (x, y) => {
      // Bricks: rows of 4-pixel dashes every 8 pixels, each row shifted by 4 (a diagonal lattice).
      const on = (x + 4 * Math.floor(y / 4)) % 8 < 4 && y % 4 < 2;
      return on ? [0.9, 0.8, 0.3] : [0.3, 0.5, 0.4];
    });
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const noise = pattern(128, 128, () => {
      const v = random();
      return [v, v, v];
    });
    // Painted strokes: 400 dashes of random length, place and tone, all leaning about 30 degrees.
    const strokes = pattern(128, 128, () => [0.5, 0.45, 0.3]);
    for (let i = 0; i < 400; i++) {
      const [x0, y0, length, tone] = [random() * 128, random() * 128, 4 + random() * 16, random()];
      const angle = 0.5 + (random() - 0.5) * 0.6;
      for (let t = 0; t < length; t++) {
        const [x, y] = [Math.round(x0 + t * Math.cos(angle)), Math.round(y0 + t * Math.sin(angle))];
        if (x < 128 && y < 128) strokes.data.set([tone, tone * 0.9, 0.3], (y * 128 + x) * 3);
      }
    }
    expect(gridStrength(dashes)).toBeGreaterThan(0.9);
    expect(gridStrength(noise)).toBeLessThan(0.15);
    expect(gridStrength(strokes)).toBeLessThan(0.5);
    expect(gridStrength(pattern(96, 96, (x, y) => [x / 96, y / 96, 0.5]))).toBeLessThan(0.2);
  });
});

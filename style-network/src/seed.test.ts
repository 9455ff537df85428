import { describe, expect, it } from 'vitest';
import { cellSeed, SEED_CHANNELS } from './seed.mjs';

/** Connected regions of equal value (4-neighbour flood fill): the seed's cells. */
function cells(seed: Float32Array, width: number, height: number): number[] {
  const label = new Int32Array(width * height).fill(-1);
  const sizes: number[] = [];
  for (let start = 0; start < seed.length; start++) {
    if (label[start] !== -1) continue;
    const stack = [start];
    label[start] = sizes.length;
    let size = 0;
    while (stack.length) {
      const p = stack.pop()!;
      size++;
      const x = p % width;
      for (const q of [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, p - width, p + width]) {
        if (q >= 0 && q < seed.length && label[q] === -1 && seed[q] === seed[p]) {
          label[q] = sizes.length;
          stack.push(q);
        }
      }
    }
    sizes.push(size);
  }
  return sizes;
}

describe('cellSeed', () => {
  it('is a pure function of global coordinates: any window of the plane is the same pixels of a larger region', () => {
    const whole = cellSeed(300, 400, 32);
    const window = cellSeed(90, 130, 32, 171, 205);
    for (let c = 0; c < SEED_CHANNELS; c++) {
      for (let y = 0; y < 90; y++) for (let x = 0; x < 130; x++) expect(window[c * 90 * 130 + y * 130 + x]).toBe(whole[c * 300 * 400 + (y + 171) * 400 + x + 205]);
    }
    expect(cellSeed(300, 400, 32)).toEqual(whole);
  });

  it('partitions the plane into flat cells of about the grid spacing, with values spread over [0, 1]', () => {
    const [width, height, cell] = [512, 384, 32];
    const seed = cellSeed(height, width, cell).subarray(0, width * height);
    expect(seed.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThanOrEqual(0);
    expect(seed.reduce((m, v) => Math.max(m, v), -Infinity)).toBeLessThan(1);
    const sizes = cells(seed, width, height);
    // One feature point per grid square: about (512/32) * (384/32) = 192 cells, border cells cut.
    expect(sizes.length).toBeGreaterThan(150);
    expect(sizes.length).toBeLessThan(260);
    const inner = sizes.filter((s) => s > 64);
    const mean = inner.reduce((a, b) => a + b, 0) / inner.length;
    expect(mean).toBeGreaterThan(0.6 * cell * cell);
    expect(mean).toBeLessThan(1.6 * cell * cell);
    const values = new Set(seed);
    const quartiles = [0.25, 0.5, 0.75, 1].map((q) => [...values].filter((v) => v < q && v >= q - 0.25).length);
    for (const count of quartiles) expect(count).toBeGreaterThan(values.size / 8);
  });

  it('marks every boundary between cells: 0 on it, 1 from a quarter of the spacing inside', () => {
    const [width, height, cell] = [256, 192, 32];
    const seed = cellSeed(height, width, cell);
    const plane = width * height;
    const boundary = seed.subarray(plane);
    expect(boundary.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThanOrEqual(0);
    expect(boundary.reduce((m, v) => Math.max(m, v), -Infinity)).toBe(1);
    let edges = 0;
    let edgeSum = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x + 1 < width; x++) {
        const p = y * width + x;
        if (seed[p] === seed[p + 1]) continue;
        // Two neighbours in different cells straddle the boundary: both are within a pixel of it.
        edges++;
        edgeSum += boundary[p]! + boundary[p + 1]!;
        expect(Math.max(boundary[p]!, boundary[p + 1]!)).toBeLessThanOrEqual(1 / (0.25 * cell) + 1e-6);
      }
    }
    expect(edges).toBeGreaterThan(1000);
    expect(edgeSum / (2 * edges)).toBeLessThan(0.1);
    // Cells' insides saturate (about a quarter of the plane at this ramp), so the channel is a line, not a gradient.
    const saturated = boundary.filter((v) => v === 1).length / plane;
    expect(saturated).toBeGreaterThan(0.15);
    expect(saturated).toBeLessThan(0.5);
  });

  it('depends on the spacing and refuses one that is not a whole number of pixels of at least 2', () => {
    expect(cellSeed(64, 64, 16)).not.toEqual(cellSeed(64, 64, 32));
    expect(() => cellSeed(8, 8, 1)).toThrow(/at least 2/);
    expect(() => cellSeed(8, 8, 12.5)).toThrow(/at least 2/);
    expect(() => cellSeed(8, 8, 16, 0.5, 0)).toThrow(/whole pixels/);
  });
});

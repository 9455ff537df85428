import * as tf from '@tensorflow/tfjs-core';
import { seedInput } from '@nst/style-network';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../kernels/backend.js';
import { createFeatureNetwork, gramMatrix } from './features.js';
import { StyleLoss, colourAxis, colourLineDistance, flatnessWeight, paintingCrops, pureColourPenalty, type StyleLossOptions } from './style-loss.js';

/** The style term of `x` against itself under a one-scale loss with these options. */
function styleTerm(style: tf.Tensor3D, x: tf.Tensor4D, options: Partial<StyleLossOptions>): number {
  const loss = new StyleLoss({ styleImage: style, imageSize: x.shape[1], scales: [1], ...options });
  const value = loss.values(x, x).style;
  loss.dispose();
  return value;
}

/** A smooth "photo" and a high-frequency, differently coloured "painting". */
function photo(size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const ramp = tf.linspace(0, 1, size);
    const xs = tf.tile(tf.reshape(ramp, [1, size, 1]), [size, 1, 1]);
    const ys = tf.tile(tf.reshape(ramp, [size, 1, 1]), [1, size, 1]);
    return tf.expandDims(tf.concat([xs, ys, tf.mul(tf.add(xs, ys), 0.5)], 2), 0) as tf.Tensor4D;
  });
}
function painting(size: number): tf.Tensor3D {
  return tf.tidy(() => {
    const noise = tf.randomUniform([size, size, 1], 0, 1, 'float32', 7);
    return tf.concat([tf.mul(noise, 0.3), tf.mul(noise, 0.5), tf.add(tf.mul(noise, 0.4), 0.6)], 2) as tf.Tensor3D;
  });
}

/** The cell seed over a size x size square from (top, left), NHWC, with its value and boundary channels. */
function seedTensors(size: number, cell: number, top: number, left: number): { seed: tf.Tensor4D; value: tf.Tensor4D; boundary: tf.Tensor4D } {
  return tf.tidy(() => {
    const planes = seedInput(size, size, cell, top, left);
    const seed = tf.transpose(tf.tensor4d(planes.data, planes.dims), [0, 2, 3, 1]) as tf.Tensor4D;
    return { seed, value: tf.slice(seed, [0, 0, 0, 0], [-1, -1, -1, 1]), boundary: tf.slice(seed, [0, 0, 0, 1], [-1, -1, -1, 1]) };
  });
}

/** Glass: 8 px cells of four colours, each bounded (withLines) by a one-pixel dark line. */
function glass(withLines: boolean, shift = 0): tf.Tensor4D {
  return tf.tidy(() => {
    const size = 64;
    const data = new Float32Array(size * size * 3);
    const colours = [[0.8, 0.1, 0.2], [0.1, 0.3, 0.8], [0.1, 0.6, 0.3], [0.9, 0.7, 0.1]];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const lead = withLines && ((x + shift) % 8 === 0 || (y + shift) % 8 === 0);
        const colour = colours[(Math.floor(x / 8) + 3 * Math.floor(y / 8)) % 4]!;
        for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = lead ? 0.05 : colour[c]!;
      }
    }
    return tf.tensor4d(data, [1, size, size, 3]);
  });
}

describe('random feature loss network', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is deterministic per seed, differs across seeds, and halves resolution per layer', () => {
    const x = photo(32);
    const a = createFeatureNetwork({ seed: 1 });
    const b = createFeatureNetwork({ seed: 1 });
    const c = createFeatureNetwork({ seed: 2 });
    const [fa, fb, fc] = [a, b, c].map((n) => n.features(x));
    expect(fa!.map((f) => f.shape)).toEqual([
      [1, 32, 32, 32],
      [1, 16, 16, 64],
      [1, 8, 8, 128],
      [1, 4, 4, 128],
    ]);
    expect(tf.max(tf.abs(tf.sub(fa![3]!, fb![3]!))).dataSync()[0]).toBe(0);
    expect(tf.max(tf.abs(tf.sub(fa![3]!, fc![3]!))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([x, ...fa!, ...fb!, ...fc!]);
    [a, b, c].forEach((n) => n.dispose());
  });

  it('gramMatrix and its custom gradient match plain tensor algebra', () => {
    const f = tf.randomNormal([2, 5, 6, 7], 0, 1, 'float32', 3) as tf.Tensor4D;
    const weights = tf.randomNormal([2, 7, 7], 0, 1, 'float32', 4);
    const naive = (t: tf.Tensor) => {
      const rows = tf.reshape(t, [2, 30, 7]);
      return tf.div(tf.matMul(rows, rows, true, false), 30);
    };
    expect(tf.max(tf.abs(tf.sub(gramMatrix(f), naive(f)))).dataSync()[0]).toBeLessThan(1e-5);
    const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gramMatrix(t as tf.Tensor4D), weights)))(f);
    const reference = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(naive(t), weights)))(f);
    expect(tf.max(tf.abs(tf.sub(ours, reference))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([f, weights, ours, reference]);
  });
});

describe('StyleLoss', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const statistic of ['gram', 'covariance'] as const) {
    it(`scores the painting itself as on-style, the photo as off-style, and the photo as on-content (${statistic})`, () => {
      const style = painting(48);
      const x = photo(48);
      const loss = new StyleLoss({ styleImage: style, imageSize: 48, statistic });
      const styleAsOutput = tf.expandDims(style, 0) as tf.Tensor4D;
      const onStyle = loss.values(styleAsOutput, x);
      const identity = loss.values(x, x);
      expect(onStyle.style).toBeLessThan(identity.style / 10);
      expect(onStyle.colour).toBeLessThan(identity.colour / 10);
      expect(identity.content).toBe(0);
      expect(onStyle.content).toBeGreaterThan(0.05);
      for (const v of Object.values(onStyle)) expect(Number.isFinite(v)).toBe(true);
      loss.dispose();
      tf.dispose([style, x, styleAsOutput]);
    });
  }

  it('with softmax features, still scores the painting on-style and the photo off-style, at any image size', () => {
    const style = painting(64);
    const loss = new StyleLoss({ styleImage: style, imageSize: 32, featureTransform: 'softmax' });
    const raw = new StyleLoss({ styleImage: style, imageSize: 32 });
    for (const size of [32, 64]) {
      const x = photo(size);
      const styleAsOutput = tf.tidy(() => tf.image.resizeBilinear(tf.expandDims(style, 0) as tf.Tensor4D, [size, size], true));
      const onStyle = loss.values(styleAsOutput, x);
      const offStyle = loss.values(x, x);
      expect(onStyle.style).toBeLessThan(offStyle.style / 5);
      // The transform changes what is matched, not only its scale.
      expect(Math.abs(offStyle.style - raw.values(x, x).style)).toBeGreaterThan(1e-3);
      tf.dispose([x, styleAsOutput]);
    }
    loss.dispose();
    raw.dispose();
    style.dispose();
  });

  it('matches style on the layers asked for: the whole term is the layers\' terms weighted by their share', () => {
    const style = painting(32);
    const x = photo(32);
    const part = (styleLayers?: number[]) => {
      const loss = new StyleLoss({ styleImage: style, imageSize: 32, ...(styleLayers ? { styleLayers } : {}) });
      const value = loss.values(x, x).style;
      loss.dispose();
      return value;
    };
    const all = part();
    expect(all).toBeGreaterThan(0);
    expect(part([0]) * 1 + part([1, 2, 3]) * 3).toBeCloseTo(all * 4, 4);
    tf.dispose([style, x]);
  });

  it('sliced statistic: the style image scores near zero against itself, another picture far more, with a finite gradient', () => {
    const style = painting(32);
    const other = photo(32);
    const loss = new StyleLoss({ styleImage: style, imageSize: 32, statistic: 'sliced', scales: [1] });
    const style4d = tf.expandDims(style, 0) as tf.Tensor4D;
    const same = loss.values(style4d, style4d).style;
    const different = loss.values(other, other).style;
    expect(same).toBeLessThan(0.01 * different);
    const grad = tf.grad((x: tf.Tensor) => loss.terms(x as tf.Tensor4D, other).style)(other);
    expect(grad.dataSync().every(Number.isFinite)).toBe(true);
    expect(tf.max(tf.abs(grad)).dataSync()[0]).toBeGreaterThan(0);
    loss.dispose();
    tf.dispose([style, style4d, other, grad]);
  });

  it('sliced on some layers only: the other layers score exactly as covariance does, the sliced ones do not', () => {
    const style = painting(32);
    const x = photo(32);
    const stylePart = (options: Partial<StyleLossOptions>) => styleTerm(style, x, options);
    const mixed = { statistic: 'sliced' as const, slicedLayers: [3] };
    expect(stylePart({ ...mixed, styleLayers: [0, 1, 2] })).toBeCloseTo(stylePart({ styleLayers: [0, 1, 2] }), 6);
    expect(stylePart({ ...mixed, styleLayers: [3] })).not.toBeCloseTo(stylePart({ styleLayers: [3] }), 3);
    const loss = new StyleLoss({ styleImage: style, imageSize: 32, ...mixed });
    expect([0, 1, 2, 3].map((layer) => loss.statisticOf(layer))).toEqual(['covariance', 'covariance', 'covariance', 'sliced']);
    loss.dispose();
    tf.dispose([style, x]);
  });

  it('pixel-patch term: scores the painting itself at zero at every pooling, sees one-pixel lead lines the cells lack, and is off unless weighted', () => {
    const painting = glass(true);
    const cellsOnly = glass(false);
    const loss = new StyleLoss({ styleImage: painting, imageSize: 64, weights: { patches: 1 } });
    const patches = (x: tf.Tensor4D) => loss.values(x, x).patches;
    expect(patches(painting)).toBeLessThan(1e-6);
    expect(patches(cellsOnly)).toBeGreaterThan(0.05);
    const grad = tf.grad((x: tf.Tensor) => loss.terms(x as tf.Tensor4D, cellsOnly).patches)(cellsOnly);
    expect(grad.dataSync().every(Number.isFinite)).toBe(true);
    expect(tf.max(tf.abs(grad)).dataSync()[0]).toBeGreaterThan(0);
    loss.dispose();
    // The pyramid: at 1/2 and 1/4 a patch spans whole cells; the painting still scores zero.
    const pyramid = new StyleLoss({ styleImage: painting, imageSize: 64, weights: { patches: 1 }, patchPools: [1, 2, 4] });
    expect(pyramid.values(painting, painting).patches).toBeLessThan(1e-6);
    expect(pyramid.values(cellsOnly, cellsOnly).patches).toBeGreaterThan(0.05);
    pyramid.dispose();
    expect(() => new StyleLoss({ styleImage: painting, imageSize: 64, weights: { patches: 1 }, patchPools: [0] })).toThrow(/whole pooling factors/);
    const unweighted = new StyleLoss({ styleImage: painting, imageSize: 64 });
    expect(unweighted.values(cellsOnly, cellsOnly).patches).toBe(0);
    unweighted.dispose();
    tf.dispose([painting, cellsOnly, grad]);
  });

  it('tone term: zero for the painting and for its lead lines moved, high for the cells without lead; its gradient lowers it; off unless weighted', () => {
    const painting = glass(true);
    const moved = glass(true, 3);
    const cellsOnly = glass(false);
    const loss = new StyleLoss({ styleImage: painting, imageSize: 64, weights: { tone: 1 } });
    const tone = (x: tf.Tensor4D) => loss.values(x, x).tone;
    expect(tone(painting)).toBeLessThan(1e-6);
    // Only the share of each luminance counts, not where it is.
    expect(tone(moved)).toBeLessThan(1e-6);
    expect(tone(cellsOnly)).toBeGreaterThan(0.05);
    const grad = tf.grad((x: tf.Tensor) => loss.terms(x as tf.Tensor4D, cellsOnly).tone)(cellsOnly);
    expect(grad.dataSync().every(Number.isFinite)).toBe(true);
    const step = tf.clipByValue(tf.sub(cellsOnly, tf.mul(grad, 0.02 / tf.max(tf.abs(grad)).dataSync()[0]!)), 0, 1) as tf.Tensor4D;
    expect(tone(step)).toBeLessThan(tone(cellsOnly));
    loss.dispose();
    const unweighted = new StyleLoss({ styleImage: painting, imageSize: 64 });
    expect(unweighted.values(cellsOnly, cellsOnly).tone).toBe(0);
    unweighted.dispose();
    tf.dispose([painting, moved, cellsOnly, grad, step]);
  });

  it('cells term: zero for one colour per seed cell, lead on the seed boundaries included; charges lines through the cells and a photo across them, only where the photo is flat; its gradient lowers it; off without a seed or a weight', () => {
    const size = 64;
    const { seed, value, boundary } = seedTensors(size, 16, 5, 9);
    // Glass: each seed cell one colour from its value; then the same with lead where the boundary channel is under 0.1.
    const pieces = tf.concat([value, tf.sub(1, value), tf.mul(value, 0.5)], 3) as tf.Tensor4D;
    const leaded = tf.where(tf.tile(tf.less(boundary, 0.1), [1, 1, 1, 3]), tf.zerosLike(pieces), pieces) as tf.Tensor4D;
    // Lead drawn through the cells' middles, not on their boundaries.
    const misplaced = tf.where(tf.tile(tf.less(tf.abs(tf.sub(boundary, 0.6)), 0.1), [1, 1, 1, 3]), tf.zerosLike(pieces), pieces) as tf.Tensor4D;
    const scene = photo(size);
    const flatPhoto = tf.fill([1, size, size, 3], 0.5) as tf.Tensor4D;
    const busyPhoto = tf.expandDims(painting(size), 0) as tf.Tensor4D;
    const loss = new StyleLoss({ styleImage: painting(size), imageSize: size, weights: { cells: 1 } });
    const cells = (x: tf.Tensor4D, under = flatPhoto) => loss.values(x, under, seed).cells;
    expect(cells(pieces)).toBe(0);
    expect(cells(leaded)).toBe(0);
    expect(cells(misplaced)).toBeGreaterThan(1);
    expect(cells(scene)).toBeGreaterThan(0.01);
    // Where the photo has edges of its own the output may follow them.
    expect(cells(misplaced, busyPhoto)).toBe(0);
    const grad = tf.grad((x: tf.Tensor) => loss.terms(x as tf.Tensor4D, flatPhoto, seed).cells)(scene);
    expect(grad.dataSync().every(Number.isFinite)).toBe(true);
    const step = tf.clipByValue(tf.sub(scene, tf.mul(grad, 0.02 / tf.max(tf.abs(grad)).dataSync()[0]!)), 0, 1) as tf.Tensor4D;
    expect(cells(step)).toBeLessThan(cells(scene));
    expect(loss.values(scene, flatPhoto).cells).toBe(0);
    loss.dispose();
    const unweighted = new StyleLoss({ styleImage: painting(size), imageSize: size });
    expect(unweighted.values(scene, flatPhoto, seed).cells).toBe(0);
    unweighted.dispose();
    tf.dispose([seed, value, boundary, pieces, leaded, misplaced, scene, flatPhoto, busyPhoto, grad, step]);
  });

  it("lead term: zero for black lead on the seed's boundaries, charged for pieces without it, for navy seams and for lead only off the boundaries, only where the photo is flat; its gradient darkens the band; off without a seed or a weight", () => {
    const size = 64;
    const { seed, value, boundary } = seedTensors(size, 16, 5, 9);
    const pieces = tf.concat([value, tf.sub(1, value), tf.mul(value, 0.5)], 3) as tf.Tensor4D;
    const withSeams = (where: tf.Tensor, colour: [number, number, number]) =>
      tf.where(tf.tile(where, [1, 1, 1, 3]), tf.mul(tf.onesLike(pieces), tf.tensor1d(colour)), pieces) as tf.Tensor4D;
    const onBand = tf.less(boundary, 0.2);
    const leaded = withSeams(onBand, [0, 0, 0]);
    const navy = withSeams(onBand, [0.1, 0.15, 0.45]);
    const misplaced = withSeams(tf.less(tf.abs(tf.sub(boundary, 0.6)), 0.1), [0, 0, 0]);
    const flatPhoto = tf.fill([1, size, size, 3], 0.5) as tf.Tensor4D;
    const busyPhoto = tf.expandDims(painting(size), 0) as tf.Tensor4D;
    // The painting's darkest twentieth is its lead's tone.
    const black = tf.tidy(() => tf.where(tf.tile(tf.less(tf.randomUniform([size, size, 1], 0, 1, 'float32', 3), 0.1), [1, 1, 3]), tf.zeros([size, size, 3]), painting(size)) as tf.Tensor3D);
    const loss = new StyleLoss({ styleImage: black, imageSize: size, weights: { lead: 1 } });
    expect(loss.leadLevel).toBe(0);
    const lead = (x: tf.Tensor4D, under = flatPhoto) => loss.values(x, under, seed).lead;
    expect(lead(leaded)).toBe(0);
    expect(lead(pieces)).toBeGreaterThan(0.5);
    expect(lead(navy)).toBeGreaterThan(0.1);
    expect(lead(misplaced)).toBeCloseTo(lead(pieces), 5);
    // Where the photo has edges of its own the band is not charged.
    expect(lead(pieces, busyPhoto)).toBe(0);
    const grad = tf.grad((x: tf.Tensor) => loss.terms(x as tf.Tensor4D, flatPhoto, seed).lead)(pieces);
    const band = tf.cast(onBand, 'float32');
    // Only the band is pushed, and only darker.
    expect(tf.sum(tf.mul(tf.abs(grad), tf.sub(1, band))).dataSync()[0]).toBe(0);
    expect(tf.min(grad).dataSync()[0]).toBeGreaterThanOrEqual(0);
    const step = tf.clipByValue(tf.sub(pieces, tf.mul(grad, 0.1 / tf.max(tf.abs(grad)).dataSync()[0]!)), 0, 1) as tf.Tensor4D;
    expect(lead(step)).toBeLessThan(lead(pieces));
    expect(loss.values(pieces, flatPhoto).lead).toBe(0);
    loss.dispose();
    const unweighted = new StyleLoss({ styleImage: black, imageSize: size });
    expect(unweighted.values(pieces, flatPhoto, seed).lead).toBe(0);
    unweighted.dispose();
    tf.dispose([seed, value, boundary, pieces, onBand, leaded, navy, misplaced, flatPhoto, busyPhoto, black, grad, band, step]);
  });

  it("lead term: leaves the seed's boundaries alone near the photo's own edges, so lead goes round what the photo shows", () => {
    const size = 128;
    const { seed, value, boundary } = seedTensors(size, 16, 0, 0);
    const pieces = tf.fill([1, size, size, 3], 0.6) as tf.Tensor4D;
    // A flat photo with one vertical edge down its middle.
    const edgePhoto = tf.tidy(() => tf.tile(tf.reshape(tf.tensor1d(Array.from({ length: size }, (_, x) => (x < size / 2 ? 0.2 : 0.8))), [1, 1, size, 1]), [1, size, 1, 3]) as tf.Tensor4D);
    const loss = new StyleLoss({ styleImage: painting(64), imageSize: size, weights: { lead: 1 } });
    const grad = tf.grad((x: tf.Tensor) => loss.terms(x as tf.Tensor4D, edgePhoto, seed).lead)(pieces);
    const columns = tf.sum(tf.abs(grad), [0, 1, 3]).arraySync() as number[];
    // Within the flatness window plus the clearance of the edge, nothing; far from it, the band is charged.
    expect(columns.slice(size / 2 - 30, size / 2 + 30).every((g) => g === 0)).toBe(true);
    expect(columns.slice(0, 16).some((g) => g > 0)).toBe(true);
    expect(columns.slice(size - 16).some((g) => g > 0)).toBe(true);
    loss.dispose();
    tf.dispose([seed, value, boundary, pieces, edgePhoto, grad]);
  });

  it('feature-patch term: zero for the painting itself, low for its own neighbourhoods rearranged, high for a photo; its gradient lowers it; off unless weighted', () => {
    const style = painting(64);
    const itself = tf.expandDims(style, 0) as tf.Tensor4D;
    // The halves swapped on the loss layer's 8-px grid: every patch away from the seams is one the painting has.
    const swapped = tf.concat([tf.slice(itself, [0, 0, 32, 0], [1, 64, 32, 3]), tf.slice(itself, [0, 0, 0, 0], [1, 64, 32, 3])], 2);
    const x = photo(64);
    const loss = new StyleLoss({ styleImage: style, imageSize: 64, weights: { mrf: 1 } });
    const mrf = (y: tf.Tensor4D) => loss.values(y, y).mrf;
    expect(mrf(itself)).toBeLessThan(1e-6);
    expect(mrf(swapped)).toBeLessThan(mrf(x) * 0.5);
    const grad = tf.grad((y: tf.Tensor) => loss.terms(y as tf.Tensor4D, x).mrf)(x);
    expect(grad.dataSync().every(Number.isFinite)).toBe(true);
    const step = tf.sub(x, tf.mul(grad, 0.01 / tf.max(tf.abs(grad)).dataSync()[0]!)) as tf.Tensor4D;
    expect(mrf(step)).toBeLessThan(mrf(x));
    loss.dispose();
    const unweighted = new StyleLoss({ styleImage: style, imageSize: 64 });
    expect(unweighted.values(x, x).mrf).toBe(0);
    unweighted.dispose();
    tf.dispose([style, itself, swapped, x, grad, step]);
  });

  it('cuts the painting into crops of the training size that cover it, the last row and column flush with its edges', () => {
    const painting = tf.reshape(tf.range(0, 10 * 7), [1, 10, 7, 1]) as tf.Tensor4D;
    const crops = paintingCrops(painting, 4);
    // Rows start at 0, 4, 6 and columns at 0, 3: six crops, the far ones overlapping their neighbours.
    expect(crops.shape).toEqual([6, 4, 4, 1]);
    const corner = (i: number) => (crops.slice([i, 0, 0, 0], [1, 1, 1, 1]).dataSync() as Float32Array)[0];
    expect([0, 1, 2, 3, 4, 5].map(corner)).toEqual([0, 3, 4 * 7, 4 * 7 + 3, 6 * 7, 6 * 7 + 3]);
    expect(paintingCrops(painting, 12).shape).toEqual([1, 10, 7, 1]);
    tf.dispose([painting, crops]);
  });

  it('pooled over the batch, the painting\'s own crops are its style; per image, a hedge of every colour in every crop beats them', () => {
    // Flat squares of four colours, each square as large as a crop: each of the painting's
    // crops holds one colour, where the whole painting holds four.
    const colours = [[0.9, 0.2, 0.1], [0.1, 0.6, 0.2], [0.2, 0.3, 0.9], [0.95, 0.85, 0.1]];
    const square = (row: number, column: number) => colours[(row + 2 * column + Math.floor(row / 2)) % 4]!;
    const canvas = (squares: number, side: number) => {
      const data = new Float32Array(squares * side * squares * side * 3);
      for (let y = 0; y < squares * side; y++) for (let x = 0; x < squares * side; x++) data.set(square(Math.floor(y / side), Math.floor(x / side)), 3 * (y * squares * side + x));
      return tf.tensor3d(data, [squares * side, squares * side, 3]);
    };
    const style = canvas(4, 32);
    const crops = paintingCrops(tf.expandDims(style, 0) as tf.Tensor4D, 32);
    // The hedge: every crop a 2x2 of all four colours.
    const hedge = tf.tile(tf.expandDims(canvas(2, 16), 0), [16, 1, 1, 1]) as tf.Tensor4D;
    const options = { styleImage: style, imageSize: 32, styleScale: 4, scales: [1], weights: { content: 0, colour: 0, tv: 0 } };
    const score = (stylePooling: 'image' | 'batch', x: tf.Tensor4D) => {
      const loss = new StyleLoss({ ...options, stylePooling });
      const value = loss.values(x, x).style;
      loss.dispose();
      return value;
    };
    expect(score('batch', crops)).toBeLessThan(1e-4);
    expect(score('batch', crops)).toBeLessThan(score('batch', hedge) / 10);
    expect(score('image', crops)).toBeGreaterThan(score('image', hedge));
    tf.dispose([style, crops, hedge]);
  });

  it("per-layer style weights scale each layer's term: the weighted total is the weighted sum of single-layer terms", () => {
    const style = painting(32);
    const x = photo(32);
    const stylePart = (options: Partial<StyleLossOptions>) => styleTerm(style, x, options);
    const single = [0, 1, 2, 3].map((layer) => stylePart({ styleLayers: [layer] }));
    const weights = [1, 0, 2, 5];
    // Each single-layer loss holds its layer's whole term; the four-layer loss takes a quarter of each.
    const expected = single.reduce((sum, value, layer) => sum + (value * weights[layer]!) / 4, 0);
    expect(stylePart({ styleLayerWeights: weights })).toBeCloseTo(expected, 5);
    tf.dispose([style, x]);
  });

  it('charges pure colours the painting lacks, with a gradient that survives the sigmoid saturating; black, white and a pure-colour painting cost nothing', () => {
    const style = painting(32);
    const fill = (rgb: [number, number, number]) => tf.tidy(() => tf.mul(tf.ones([1, 32, 32, 3]), tf.tensor1d(rgb)) as tf.Tensor4D);
    const [blue, nearBlue, black, white] = [fill([0.02, 0.02, 0.98]), fill([0.3, 0.3, 0.7]), fill([0.01, 0.01, 0.01]), fill([0.99, 0.99, 0.99])];
    const penalty = (x: tf.Tensor4D) => tf.tidy(() => pureColourPenalty(x).dataSync()[0]!);
    expect(penalty(blue)).toBeGreaterThan(5);
    for (const x of [nearBlue, black, white]) expect(penalty(x)).toBe(0);
    // Through the sigmoid: at a deeply saturated blue, lowering the blue logit still lowers the penalty.
    const logits = tf.tidy(() => tf.log(tf.div(blue, tf.sub(1, blue))) as tf.Tensor4D);
    const grad = tf.grad((z: tf.Tensor) => pureColourPenalty(tf.sigmoid(z) as tf.Tensor4D))(logits);
    const perPixel = tf.tidy(() => tf.slice(grad, [0, 0, 0, 2], [1, 1, 1, 1]).dataSync()[0]! * 32 * 32);
    expect(perPixel).toBeGreaterThan(1);
    const loss = new StyleLoss({ styleImage: style, imageSize: 32, scales: [1] });
    expect(loss.penalisesPureColours).toBe(true);
    expect(loss.values(blue, blue).colour - loss.values(nearBlue, nearBlue).colour).toBeGreaterThan(50);
    const pureStyle = tf.tidy(() => tf.squeeze(tf.concat([fill([1, 0, 0]), fill([0, 0, 1])], 2), [0]) as tf.Tensor3D);
    const popArt = new StyleLoss({ styleImage: pureStyle, imageSize: 32, scales: [1] });
    expect(popArt.penalisesPureColours).toBe(false);
    tf.dispose([style, blue, nearBlue, black, white, logits, grad, pureStyle]);
    loss.dispose();
    popArt.dispose();
  });

  it('charges colour off a sepia drawing\'s one colour axis (pink and green fringes), never the shading along it; a colourful painting is not charged', () => {
    // A sepia ramp: every pixel on the line from dark brown to cream.
    const [dark, cream] = [[0.25, 0.18, 0.1], [0.95, 0.9, 0.8]];
    const sepia = (t: tf.Tensor) => tf.add(tf.mul(t, tf.sub(cream, dark)), dark);
    const ramp = tf.tidy(() => sepia(tf.tile(tf.reshape(tf.linspace(0, 1, 32), [1, 32, 1, 1]), [1, 1, 32, 1])) as tf.Tensor4D);
    const found = colourAxis(ramp);
    const direction = tf.tidy(() => tf.div(tf.sub(cream, dark), tf.norm(tf.sub(cream, dark))).dataSync());
    expect(Math.abs(found.axis.reduce((sum, v, i) => sum + v * direction[i]!, 0))).toBeCloseTo(1, 4);
    expect(found.off).toBeLessThan(1e-8);
    // The same shading with pink and green checkered into it, averaging back to sepia.
    const fringed = tf.tidy(() => {
      const checker = tf.sub(tf.mul(tf.mod(tf.add(tf.reshape(tf.range(0, 32), [1, 32, 1, 1]), tf.reshape(tf.range(0, 32), [1, 1, 32, 1])), 2), 2), 1);
      return tf.clipByValue(tf.add(ramp, tf.mul(checker, tf.tensor1d([0.06, -0.06, 0.06]))), 0, 1) as tf.Tensor4D;
    });
    const [point, axis] = [tf.tensor1d(found.mean), tf.tensor1d(found.axis)];
    const offAxis = (x: tf.Tensor4D) => tf.tidy(() => colourLineDistance(x, point, axis).dataSync()[0]!);
    expect(offAxis(ramp)).toBeLessThan(1e-8);
    expect(offAxis(fringed)).toBeGreaterThan(0.005);
    // A grey cast moves every pixel off the sepia line, even with no fringe at all.
    const grey = tf.tidy(() => tf.add(ramp, tf.tensor1d([-0.04, 0, 0.04])) as tf.Tensor4D);
    expect(offAxis(grey)).toBeGreaterThan(0.002);
    const drawing = new StyleLoss({ styleImage: tf.squeeze(ramp, [0]) as tf.Tensor3D, imageSize: 32, scales: [1] });
    expect(drawing.chargesOffAxisColour).toBe(true);
    expect(drawing.values(fringed, fringed).colour - drawing.values(ramp, ramp).colour).toBeGreaterThan(0.5);
    // (painting() is one noise along one colour axis; a colourful one varies each channel.)
    const colours = tf.randomUniform([32, 32, 3], 0, 1, 'float32', 11) as tf.Tensor3D;
    const colourful = new StyleLoss({ styleImage: colours, imageSize: 32, scales: [1] });
    expect(colourful.chargesOffAxisColour).toBe(false);
    tf.dispose([ramp, fringed, grey, point, axis, colours]);
    drawing.dispose();
    colourful.dispose();
  });

  it('takes deep layers only from InceptionV3, and only those below mixed5 (ImageNet weights)', () => {
    const style = painting(32);
    expect(() => new StyleLoss({ styleImage: style, imageSize: 32, deepLayers: ['mixed3'] })).toThrow('use the inception loss network');
    expect(() => new StyleLoss({ styleImage: style, imageSize: 32, network: 'inception', deepLayers: ['mixed7' as 'mixed4'] })).toThrow('unknown deep layers mixed7');
    style.dispose();
  });

  it('with phase jitter, sees the images at a new offset on each call and still finds no content change in the photo itself', () => {
    const style = painting(48);
    const x = tf.tidy(() => tf.add(photo(48), tf.mul(tf.randomUniform([1, 48, 48, 3], 0, 1, 'float32', 5), 0.2)) as tf.Tensor4D);
    const loss = new StyleLoss({ styleImage: style, imageSize: 48, phaseJitter: 4 });
    const first = loss.values(x, x);
    const second = loss.values(x, x);
    expect(first.style).not.toBe(second.style);
    expect(first.content).toBe(0);
    expect(second.content).toBe(0);
    loss.dispose();
    tf.dispose([style, x]);
  });

  it('compares content on luminance: a luminance-preserving recolouring costs no content', () => {
    const style = painting(32);
    const x = photo(32);
    // Shift red up and green down in the proportion that leaves 0.299 R + 0.587 G unchanged.
    const recoloured = tf.tidy(() => tf.add(x, tf.tensor1d([0.1, (-0.1 * 0.299) / 0.587, 0])) as tf.Tensor4D);
    const onLuminance = new StyleLoss({ styleImage: style, imageSize: 32 });
    const onColour = new StyleLoss({ styleImage: style, imageSize: 32, contentOnLuminance: false });
    expect(onLuminance.values(recoloured, x).content).toBeLessThan(1e-6);
    expect(onColour.values(recoloured, x).content).toBeGreaterThan(1e-3);
    onLuminance.dispose();
    onColour.dispose();
    tf.dispose([style, x, recoloured]);
  });

  it('with flatContent, charges lines drawn where the photo is flat a fraction of what the same lines cost over its edges', () => {
    const size = 48;
    // Left half plain grey, right half vertical stripes 2 px wide: flat beside edges.
    const scene = tf.tidy(() => {
      const columns = Float32Array.from({ length: size }, (_, x) => (x < size / 2 ? 0.5 : Math.floor(x / 2) % 2 ? 0.8 : 0.2));
      return tf.tile(tf.reshape(tf.tensor1d(columns), [1, 1, size, 1]), [1, size, 1, 3]) as tf.Tensor4D;
    });
    // A lattice of dark lines every 6 px, drawn over columns [from, from + 12) only.
    const withLines = (from: number) =>
      tf.tidy(() => {
        const lattice = Float32Array.from({ length: size * size }, (_, i) => {
          const y = Math.floor(i / size);
          const x = i % size;
          return x >= from && x < from + 12 && (y % 6 === 0 || x % 6 === 0) ? 1 : 0;
        });
        const mask = tf.reshape(tf.tensor1d(lattice), [1, size, size, 1]);
        return tf.add(tf.mul(scene, tf.sub(1, mask)), tf.mul(mask, 0.05)) as tf.Tensor4D;
      });
    const overFlat = withLines(0);
    const overEdges = withLines(size - 12);
    const weight = flatnessWeight(scene, size, size, 0.1).dataSync();
    expect(weight[size * 24 + 2]).toBeCloseTo(0.1, 5);
    expect(weight[size * 24 + size - 3]).toBe(1);
    const style = painting(size);
    const cost = (flatContent: number) => {
      const loss = new StyleLoss({ styleImage: style, imageSize: size, flatContent });
      const result = { flat: loss.values(overFlat, scene).content, edges: loss.values(overEdges, scene).content, photo: loss.values(scene, scene).content };
      loss.dispose();
      return result;
    };
    const everywhere = cost(1);
    const masked = cost(0.1);
    expect(masked.photo).toBe(0);
    // Over the edges the mask is 1: the lines cost about what they cost unmasked.
    expect(masked.edges).toBeGreaterThan(everywhere.edges * 0.6);
    // Over the flat half they cost about the floor's share of it.
    expect(masked.flat).toBeLessThan(everywhere.flat * 0.3);
    expect(masked.flat).toBeGreaterThan(0);
    expect(() => new StyleLoss({ styleImage: style, imageSize: size, flatContent: 2 })).toThrow(/flatContent must be in \[0, 1\]/);
    tf.dispose([scene, overFlat, overEdges, style]);
  });

  it('lowers its total when the output is optimised against it', () => {
    const style = painting(32);
    const x = photo(32);
    const loss = new StyleLoss({ styleImage: style, imageSize: 32 });
    const image = tf.variable(x.clone());
    const optimizer = tf.train.adam(0.05);
    const before = loss.values(image as unknown as tf.Tensor4D, x).total;
    for (let i = 0; i < 15; i++) optimizer.minimize(() => loss.terms(image as unknown as tf.Tensor4D, x).total, false, [image]);
    const after = loss.values(image as unknown as tf.Tensor4D, x).total;
    expect(after).toBeLessThan(before * 0.7);
    loss.dispose();
    optimizer.dispose();
    tf.dispose([style, x, image]);
  });
});

describe('ImageNet (InceptionV3) loss network', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('gives finite terms and a finite, non-zero gradient through the style network input', () => {
    const x = photo(96);
    const style = painting(96);
    const loss = new StyleLoss({ styleImage: style, imageSize: 96, network: 'inception' });
    expect(loss.scales).toEqual([1]);
    expect(loss.contentLayer).toBe(2);
    const values = loss.values(tf.mul(x, 0.9) as tf.Tensor4D, x);
    for (const v of Object.values(values)) expect(Number.isFinite(v)).toBe(true);
    expect(values.style).toBeGreaterThan(0);
    const grad = tf.grad((out: tf.Tensor) => loss.terms(out as tf.Tensor4D, x).total)(tf.mul(x, 0.9));
    expect(grad.dataSync().every(Number.isFinite)).toBe(true);
    expect(tf.max(tf.abs(grad)).dataSync()[0]).toBeGreaterThan(0);
    loss.dispose();
  });

  it("leaves a crop's last rows and columns nearly uncharged unless given a margin, which charges them as it charges the middle", () => {
    const size = 96;
    const x = photo(size);
    const style = painting(size);
    const out = tf.tidy(() => tf.add(tf.mul(x, 0.8), tf.mul(tf.randomUniform(x.shape, 0, 0.2, 'float32', 3), 1)) as tf.Tensor4D);
    /** Mean |gradient| of the style and content terms per row, then per column. */
    const reach = (margin: number) => {
      const loss = new StyleLoss({ styleImage: style, imageSize: size, network: 'inception', weights: { style: 1, content: 1, colour: 0, tv: 0 }, margin });
      const grad = tf.abs(tf.grad((y: tf.Tensor) => loss.terms(y as tf.Tensor4D, x).total)(out));
      const rows = tf.mean(grad, [0, 2, 3]).arraySync() as number[];
      const columns = tf.mean(grad, [0, 1, 3]).arraySync() as number[];
      grad.dispose();
      loss.dispose();
      return { rows, columns };
    };
    const middle = (xs: number[]) => xs.slice(size / 4, (3 * size) / 4).reduce((a, b) => a + b, 0) / (size / 2);
    const bare = reach(0);
    // InceptionV3's valid stride-2 stem drops the last row and column of an even-sized crop outright.
    expect(bare.rows[size - 1]).toBe(0);
    expect(bare.columns[size - 1]).toBe(0);
    for (const i of [size - 3, size - 2]) expect(bare.rows[i]! / middle(bare.rows)).toBeLessThan(0.2);
    // With 8 px of reflection every edge row and column gets at least a third of a middle one's
    // (the ramp photo's content differs across the crop, so the shares differ too).
    const framed = reach(8);
    for (const edge of [framed.rows, framed.columns]) {
      for (const i of [0, 1, 2, size - 3, size - 2, size - 1]) expect(edge[i]! / middle(edge)).toBeGreaterThan(0.3);
    }
    expect(() => new StyleLoss({ styleImage: style, imageSize: size, margin: size })).toThrow(/margin must be a whole number of pixels below the crop size/);
    x.dispose();
    out.dispose();
    style.dispose();
  });
});

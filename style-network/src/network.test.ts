import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNetworkBackend } from './backend.js';
import { JOHNSON_CONFIG, minimumSide, StyleNet, variableShapes, type StyleNetConfig } from './network.js';
import { seedInput } from './seed.mjs';

// Small widths keep the test fast; the shape logic does not depend on them.
const TINY: StyleNetConfig = { channels: [4, 6, 8], residualBlocks: 2, outerKernel: 9 };

function ramp(height: number, width: number, batch = 1): tf.Tensor4D {
  return tf.tidy(() => {
    const n = batch * height * width * 3;
    return tf.tensor4d(Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 100), [batch, height, width, 3]);
  });
}

function run(net: StyleNet, x: tf.Tensor4D): { shape: number[]; data: Float32Array } {
  const y = net.apply(x);
  const out = { shape: y.shape, data: y.dataSync() as Float32Array };
  y.dispose();
  return out;
}

beforeAll(async () => {
  await initNetworkBackend();
});

describe('StyleNet', () => {
  it('returns the input size for any H, W, odd and not multiples of 4 included', () => {
    const net = StyleNet.create(TINY, 1);
    for (const [h, w] of [
      [5, 5],
      [13, 7],
      [33, 51],
      [16, 16],
      [18, 30],
    ] as const) {
      const x = ramp(h, w, 2);
      expect(run(net, x).shape).toEqual([2, h, w, 3]);
      x.dispose();
    }
    net.dispose();
  });

  it('refuses images below the smallest size reflection padding allows', () => {
    const net = StyleNet.create(TINY, 1);
    const min = minimumSide(TINY);
    expect(min).toBe(5);
    const x = ramp(min - 1, 20);
    expect(() => net.apply(x)).toThrow(/at least/);
    x.dispose();
    net.dispose();
  });

  it('keeps outputs within [0,1] and varies with the input', () => {
    const net = StyleNet.create(TINY, 3);
    const x = ramp(21, 19);
    const { data } = run(net, x);
    expect(Math.min(...data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...data)).toBeLessThanOrEqual(1);
    expect(Math.max(...data) - Math.min(...data)).toBeGreaterThan(0.01);
    x.dispose();
    net.dispose();
  });

  it('is deterministic for a seed and different across seeds', () => {
    const a = StyleNet.create(TINY, 7);
    const b = StyleNet.create(TINY, 7);
    const c = StyleNet.create(TINY, 8);
    const x = ramp(12, 10);
    expect(run(a, x).data).toEqual(run(b, x).data);
    expect(run(a, x).data).not.toEqual(run(c, x).data);
    x.dispose();
    [a, b, c].forEach((n) => n.dispose());
  });

  it('round-trips through serialize/deserialize bit for bit, config included', () => {
    const net = StyleNet.create(TINY, 11);
    // Move the norm parameters off their initial 1/0 so the round trip covers real values.
    for (const [name, variable] of Object.entries(net.variables)) {
      if (name.includes('.norm.')) variable.assign(tf.tidy(() => tf.add(variable, tf.randomUniform(variable.shape, -0.5, 0.5, 'float32', 5))));
    }
    const bytes = net.serialize();
    const copy = StyleNet.deserialize(bytes);
    expect(copy.config).toEqual(TINY);
    expect(Object.keys(copy.variables)).toEqual(Object.keys(net.variables));
    for (const [name, variable] of Object.entries(net.variables)) {
      expect(copy.variables[name]?.dataSync()).toEqual(variable.dataSync());
    }
    expect(copy.serialize()).toEqual(bytes);
    expect(() => StyleNet.deserialize(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
    net.dispose();
    copy.dispose();
  });

  it('keeps a bilinear decoder through serialize/deserialize, and it paints differently from the nearest one with the same weights', () => {
    const bilinear = StyleNet.create({ ...TINY, upsampling: 'bilinear' }, 11);
    const copy = StyleNet.deserialize(bilinear.serialize());
    expect(copy.config.upsampling).toBe('bilinear');
    const nearest = StyleNet.create(TINY, 11);
    expect(nearest.config.upsampling).toBeUndefined();
    const x = tf.randomUniform([1, 24, 20, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const [a, b, c] = [copy, bilinear, nearest].map((n) => n.apply(x));
    expect(tf.max(tf.abs(tf.sub(a!, b!))).dataSync()[0]).toBe(0);
    expect(tf.max(tf.abs(tf.sub(b!, c!))).dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([x, a!, b!, c!]);
    [bilinear, copy, nearest].forEach((n) => n.dispose());
  });

  it('has trainable variables with stable names and the Johnson layer count', () => {
    const net = StyleNet.create(TINY, 1);
    expect(Object.values(net.variables).every((v) => v.trainable)).toBe(true);
    expect(Object.keys(net.variables).slice(0, 3)).toEqual(['enc1.conv.weight', 'enc1.norm.weight', 'enc1.norm.bias']);
    net.dispose();
    // 3 encoder + 10 residual + 2 decoder convs with norms, and the output conv with a bias.
    expect(variableShapes(JOHNSON_CONFIG).filter(([n]) => n.endsWith('.conv.weight'))).toHaveLength(16);
    expect(variableShapes(JOHNSON_CONFIG).at(-1)).toEqual(['out.conv.bias', [3]]);
  });

  it('gains the cell seed as extra inputs without changing what it paints, and the seed then steers the painting by place', () => {
    const plain = StyleNet.create(TINY, 4);
    const seeded = plain.withCellSeed(8);
    expect(seeded.config.seedCell).toBe(8);
    expect(seeded.variables['enc1.conv.weight']!.shape).toEqual([9, 9, 5, 4]);
    const x = ramp(40, 36);
    const before = run(plain, x).data;
    expect(Math.max(...run(seeded, x).data.map((v, i) => Math.abs(v - before[i]!)))).toBeLessThan(1e-6);
    // Once the seed's weights are not zero, where the pixels sit changes the painting.
    const w = seeded.variables['enc1.conv.weight']!;
    // HWIO: input channels 3 and 4 (the seed's) of every filter.
    const values = Float32Array.from(w.dataSync() as Float32Array, (v, i) => (Math.floor(i / 4) % 5 >= 3 ? 0.5 : v));
    tf.tidy(() => w.assign(tf.tensor4d(values, [9, 9, 5, 4])));
    const here = tf.tidy(() => seeded.apply(x).dataSync() as Float32Array);
    const there = tf.tidy(() => seeded.apply(x, [100, 60]).dataSync() as Float32Array);
    expect(Math.max(...here.map((v, i) => Math.abs(v - there[i]!)))).toBeGreaterThan(0.01);
    const copy = StyleNet.deserialize(seeded.serialize());
    expect(copy.config.seedCell).toBe(8);
    expect(Array.from(tf.tidy(() => copy.apply(x, [100, 60]).dataSync() as Float32Array))).toEqual(Array.from(there));
    expect(() => seeded.withCellSeed(8)).toThrow(/already reads a cell seed/);
    for (const net of [plain, seeded, copy]) net.dispose();
    x.dispose();
  });

  it('reads a window of the seed per image when given one origin per image, as each image alone would', () => {
    const seeded = StyleNet.create({ ...TINY, seedCell: 8 }, 6);
    const one = ramp(40, 36);
    const pair = tf.concat([one, one]);
    one.dispose();
    const origins = [
      [0, 0],
      [100, 60],
    ] as const;
    const together = tf.tidy(() => seeded.apply(pair, origins).dataSync() as Float32Array);
    const alone = origins.map((origin, i) =>
      tf.tidy(() => Array.from(seeded.apply(tf.slice(pair, [i, 0, 0, 0], [1, -1, -1, -1]), origin).dataSync() as Float32Array)),
    );
    const expected = [...alone[0]!, ...alone[1]!];
    expect(Math.max(...Array.from(together, (v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-6);
    // The same photo twice, painted differently: each image read its own window.
    expect(Math.max(...alone[0]!.map((v, i) => Math.abs(v - alone[1]![i]!)))).toBeGreaterThan(1e-4);
    expect(() => seeded.apply(pair, [[0, 0]])).toThrow(/1 seed origins for a batch of 2/);
    // The seed it read, as the trainer's loss gets it: each image's window, NHWC.
    const seed = seeded.cellSeed(2, 40, 36, origins)!;
    expect(seed.shape).toEqual([2, 40, 36, 2]);
    origins.forEach(([top, left], i) => {
      const planar = seedInput(40, 36, 8, top, left).data;
      const nhwc = tf.tidy(() => tf.slice(seed, [i, 0, 0, 0], [1, -1, -1, -1]).dataSync() as Float32Array);
      expect(Array.from(nhwc)).toEqual(Array.from({ length: 40 * 36 * 2 }, (_, k) => planar[(k % 2) * 40 * 36 + Math.floor(k / 2)]!));
    });
    seed.dispose();
    const plain = StyleNet.create(TINY, 6);
    expect(plain.cellSeed(2, 40, 36)).toBeUndefined();
    plain.dispose();
    seeded.dispose();
    pair.dispose();
  });

  it('switches its decoder to bilinear upsampling with the same weights, painting what a bilinear network with those weights paints', () => {
    const nearest = StyleNet.create(TINY, 5);
    const bilinear = nearest.withUpsampling('bilinear');
    expect(bilinear.config.upsampling).toBe('bilinear');
    for (const [name, v] of Object.entries(nearest.variables)) {
      expect(Array.from(bilinear.variables[name]!.dataSync())).toEqual(Array.from(v.dataSync()));
    }
    const x = ramp(40, 36);
    const a = run(nearest, x).data;
    const b = run(bilinear, x).data;
    // Same weights, another decoder: a different picture, which a serialized copy reproduces.
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-3);
    const copy = StyleNet.deserialize(bilinear.serialize());
    expect(copy.config.upsampling).toBe('bilinear');
    expect(Array.from(run(copy, x).data)).toEqual(Array.from(b));
    expect(() => bilinear.withUpsampling('bilinear')).toThrow(/already upsamples bilinear/);
    const back = bilinear.withUpsampling('nearest');
    expect(back.config.upsampling).toBeUndefined();
    expect(Array.from(run(back, x).data)).toEqual(Array.from(a));
    for (const net of [nearest, bilinear, copy, back]) net.dispose();
    x.dispose();
  });
});

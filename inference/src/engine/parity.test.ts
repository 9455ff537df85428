/**
 * TF.js and ONNX Runtime must agree: the network trains in TF.js and serves from the exported
 * ONNX model, so any disagreement is a user-visible bug (a style that looks different live).
 */
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx, initNetworkBackend, STARTER_CONFIG, StyleNet, type StyleNetConfig } from '@nst/style-network';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StyleModel } from './style-model';

/** A seeded network with every parameter off its initial value, norm affine included. */
function perturbedNet(config: StyleNetConfig, seed: number): StyleNet {
  const net = StyleNet.create(config, seed);
  let i = 0;
  for (const [name, variable] of Object.entries(net.variables)) {
    const s = seed * 1000 + i++;
    tf.tidy(() => {
      if (name.endsWith('.norm.weight')) variable.assign(tf.randomUniform(variable.shape, 0.5, 1.5, 'float32', s));
      else if (name.endsWith('.norm.bias') || name.endsWith('.conv.bias')) variable.assign(tf.randomUniform(variable.shape, -0.5, 0.5, 'float32', s));
      else variable.assign(tf.mul(variable, tf.randomUniform(variable.shape, 0.5, 1.5, 'float32', s)));
    });
  }
  return net;
}

/** A smooth picture with edges, HWC in 0..1, so the network sees photo-like structure. */
function picture(width: number, height: number): Float32Array {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = 0.5 + 0.5 * Math.sin(x / 9 + y / 23);
      data[i + 1] = (x * y) % 97 < 48 ? 0.2 : 0.8;
      data[i + 2] = (y / height) * 0.9 + ((x * 7919) % 13) / 130;
    }
  return data;
}

async function maxDifference(net: StyleNet, width: number, height: number, origin?: { top: number; left: number }): Promise<number> {
  const data = picture(width, height);
  const expected = tf.tidy(() => net.apply(tf.tensor4d(data, [1, height, width, 3]), origin ? [origin.top, origin.left] : undefined).dataSync() as Float32Array);
  const model = await StyleModel.load(exportOnnx(net), { threads: 2 });
  try {
    const actual = await model.run({ data, width, height, ...(origin ? { origin } : {}) });
    expect([actual.width, actual.height]).toEqual([width, height]);
    let max = 0;
    for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs((expected[i] ?? 0) - (actual.data[i] ?? 0)));
    return max;
  } finally {
    await model.dispose();
  }
}

let starter: StyleNet;
let smallKernel: StyleNet;
let bilinear: StyleNet;
let skip: StyleNet;
let seeded: StyleNet;

beforeAll(async () => {
  await initNetworkBackend();
  starter = perturbedNet(STARTER_CONFIG, 5);
  smallKernel = perturbedNet({ channels: [8, 12, 16], residualBlocks: 2, outerKernel: 5 }, 6);
  bilinear = perturbedNet({ ...STARTER_CONFIG, upsampling: 'bilinear' }, 7);
  skip = perturbedNet({ ...STARTER_CONFIG, skip: true }, 8);
  seeded = perturbedNet({ ...STARTER_CONFIG, seedCell: 16 }, 9);
});

afterAll(() => {
  starter.dispose();
  smallKernel.dispose();
  bilinear.dispose();
  skip.dispose();
  seeded.dispose();
});

describe('ONNX export parity with TF.js', () => {

  it.each([
    ['starter', 517, 333],
    ['starter', 64, 48],
    ['starter', 5, 7],
    ['5x5 outer kernel', 61, 46],
    ['bilinear decoder', 517, 333],
    ['bilinear decoder', 5, 7],
    ['full-resolution skip', 517, 333],
    ['cell-seeded', 517, 333],
    ['cell-seeded', 5, 7],
  ])('%s network agrees within 1/255 at %ix%i', async (which, width, height) => {
    const nets: Record<string, StyleNet> = { starter, 'bilinear decoder': bilinear, 'full-resolution skip': skip, 'cell-seeded': seeded };
    const net = nets[which] ?? smallKernel;
    const diff = await maxDifference(net, width, height);
    console.info(`parity ${which} ${width}x${height}: max |tfjs - onnx| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1 / 255);
  });

  it('a cell-seeded network agrees on a tile away from the origin: StyleService feeds the seed at the tile\'s place in the photo', async () => {
    const diff = await maxDifference(seeded, 203, 150, { top: 333, left: 1021 });
    expect(diff).toBeLessThan(1 / 255);
    // The place matters: the same pixels at the origin paint differently.
    const data = picture(203, 150);
    const [here, there] = tf.tidy(() => {
      const x = tf.tensor4d(data, [1, 150, 203, 3]);
      return [seeded.apply(x).dataSync() as Float32Array, seeded.apply(x, [333, 1021]).dataSync() as Float32Array];
    });
    expect(here!.reduce((m, v, i) => Math.max(m, Math.abs(v - there![i]!)), 0)).toBeGreaterThan(0.05);
  });

  it('outputs are not trivially constant (the check has something to compare)', () => {
    const out = tf.tidy(() => starter.apply(tf.tensor4d(picture(40, 30), [1, 30, 40, 3])).dataSync() as Float32Array);
    expect(Math.max(...out) - Math.min(...out)).toBeGreaterThan(0.2);
  });
});

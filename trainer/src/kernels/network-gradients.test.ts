import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { StyleLoss } from '../loss/style-loss.js';
import { StyleNet, type StyleNetConfig } from '@nst/style-network';
import { initBackend } from './backend.js';

/**
 * End to end: every weight gradient of a (small) StyleNet under the training loss, on WASM
 * with all of the project's kernels, against the pure-JS CPU backend. This is the check that
 * caught tfjs's batch > 1 bug in ResizeNearestNeighborGrad.
 */
describe('StyleNet weight gradients, WASM vs CPU', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('agree for every variable at batch 2', async () => {
    const config: StyleNetConfig = { channels: [4, 8, 8], residualBlocks: 1, outerKernel: 5 };
    const size = 24;
    const weights = StyleNet.create(config, 3).serialize();
    const x = tf.tidy(() => tf.randomUniform([2, size, size, 3], 0, 1, 'float32', 5).dataSync() as Float32Array);
    const styleData = tf.tidy(() => tf.randomUniform([size, size, 3], 0, 1, 'float32', 6).dataSync() as Float32Array);
    const gradients = () => {
      const net = StyleNet.deserialize(weights);
      const style = tf.tensor3d(styleData, [size, size, 3]);
      const loss = new StyleLoss({ styleImage: style, imageSize: size });
      const input = tf.tensor4d(x, [2, size, size, 3]);
      const variables = Object.values(net.variables);
      const { value, grads } = tf.variableGrads(() => loss.terms(net.apply(input), input).total, variables);
      const out = new Map<string, Float32Array>(
        Object.keys(net.variables).map((name, i) => [name, grads[variables[i]!.name]!.dataSync() as Float32Array]),
      );
      out.set('loss', value.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads), style, input]);
      loss.dispose();
      net.dispose();
      return out;
    };
    const wasm = gradients();
    await tf.setBackend('cpu');
    const cpu = gradients();
    await tf.setBackend('wasm');
    expect([...wasm.keys()]).toEqual([...cpu.keys()]);
    for (const [name, expected] of cpu) {
      const actual = wasm.get(name)!;
      let scale = 0;
      let worst = 0;
      for (let i = 0; i < expected.length; i++) {
        scale = Math.max(scale, Math.abs(expected[i]!));
        worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
      }
      expect(worst / Math.max(scale, 1e-12), name).toBeLessThan(1e-3);
    }
  });
});

describe('StyleNet', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  // Small widths keep the test fast; the gradients' presence does not depend on them.
  const TINY: StyleNetConfig = { channels: [4, 6, 8], residualBlocks: 2, outerKernel: 9 };
  const ramp = (height: number, width: number): tf.Tensor4D =>
    tf.tidy(() => tf.tensor4d(Float32Array.from({ length: height * width * 3 }, (_, i) => ((i * 37) % 101) / 100), [1, height, width, 3]));

  it('has gradients for every variable', () => {
    const net = StyleNet.create(TINY, 2);
    const x = ramp(9, 11);
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(net.apply(x), 0.25))) as tf.Scalar);
    // variableGrads keys by the TF.js variable name; every one must get a non-zero gradient.
    for (const [name, variable] of Object.entries(net.variables)) {
      const g = grads[variable.name];
      expect(g, name).toBeDefined();
      expect(tf.max(tf.abs(g as tf.Tensor)).dataSync()[0], name).toBeGreaterThan(0);
    }
    expect(Object.keys(grads)).toHaveLength(Object.keys(net.variables).length);
    Object.values(grads).forEach((g) => g.dispose());
    x.dispose();
    net.dispose();
  });
});

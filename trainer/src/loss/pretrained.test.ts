import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPretrainedNetwork, type PretrainedModelName } from './pretrained';

const require = createRequire(import.meta.url);

/** nsfwjs's own layers model, cut at `output`, as tfjs-layers runs it: the reference. */
async function layersModel(name: PretrainedModelName, output: string): Promise<tf.LayersModel> {
  const dir = path.resolve(path.dirname(require.resolve('nsfwjs')), '../models', name);
  const file = require(`${dir}/model.min.js`) as { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  const group = file.weightsManifest[0]!;
  const data = Buffer.concat(group.paths.map((p) => Buffer.from(require(`${dir}/${p}.min.js`) as string, 'base64')));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: file.modelTopology, weightSpecs: group.weights, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length) }),
  );
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(output).output as tf.SymbolicTensor });
}

describe('frozen ImageNet networks rebuilt from plain ops', () => {
  // The reference runs on tfjs's plain CPU backend (tfjs-layers' own kernels, nothing of ours).
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // The layers model's input is fixed (299 / 224 px); the rebuilt network takes any size.
  it.each([
    ['inception_v3', 'mixed0', 299],
    // mixed3 and mixed4 (the deep style layers): a strided reduction block and 1x7 / 7x1 convs
    ['inception_v3', 'mixed4', 299],
    ['mobilenet_v2', 'block_4_expand_relu', 224],
  ] as const)('%s up to %s matches the layers model it was read from (batch norms folded into convs)', async (name, output, size) => {
    const reference = await layersModel(name, output);
    const net = createPretrainedNetwork({ model: name, outputs: [output], averagePooling: false });
    const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    // nsfwjs's layers were trained on [-1, 1]; the rebuilt network maps [0, 1] itself.
    const want = reference.predict(tf.sub(tf.mul(x, 2), 1)) as tf.Tensor;
    const got = net.features(x)[0]!;
    expect(got.shape).toEqual(want.shape);
    expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-4);
    expect(tf.max(want).dataSync()[0]).toBeGreaterThan(1);
    net.dispose();
  });

  it('gives a finite input gradient through InceptionV3 at a size the layers model refuses', () => {
    const net = createPretrainedNetwork({ model: 'inception_v3', outputs: ['activation_3', 'mixed0'] });
    const x = tf.randomUniform([1, 96, 96, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const grad = tf.grad((input: tf.Tensor) => tf.addN(net.features(input as tf.Tensor4D).map((f) => tf.mean(tf.square(f)))))(x);
    const values = grad.dataSync();
    expect(values.every(Number.isFinite)).toBe(true);
    expect(tf.max(tf.abs(grad)).dataSync()[0]).toBeGreaterThan(0);
    net.dispose();
  });
});

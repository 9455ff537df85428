import { calibrate, exportOnnx, imageConvs, initNetworkBackend, quantizeQdq, StyleNet } from '@nst/style-network';
import { beforeAll, describe, expect, it } from 'vitest';
import { rgbFromBytes, StyleModel } from './style-model';
import { thumbnailNormGraphs } from './thumbnail-norm';

let onnx: Uint8Array;
let seededOnnx: Uint8Array;
beforeAll(async () => {
  await initNetworkBackend();
  const net = StyleNet.create({ channels: [4, 6, 8], residualBlocks: 1, outerKernel: 3 }, 13);
  onnx = exportOnnx(net);
  net.dispose();
  const seeded = StyleNet.create({ channels: [4, 6, 8], residualBlocks: 1, outerKernel: 3, seedCell: 8 }, 13);
  seededOnnx = exportOnnx(seeded);
  seeded.dispose();
});

const image = (width: number, height: number, seed: number) =>
  rgbFromBytes(Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * seed + ((i / 3) % width) * 5) % 256), width, height);

const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('thumbnailNormGraphs', () => {
  it.each(['plain', 'cell-seeded'])('derives a probe that paints like the model and reports every normalisation, and a tile graph that paints the same given those statistics (%s network)', async (kind) => {
    const model = kind === 'plain' ? onnx : seededOnnx;
    const graphs = thumbnailNormGraphs(model);
    expect(graphs).toBeDefined();
    const { probe, tile, norms } = graphs!;
    // Encoder (2 normalised convs after the first), residual block (2), decoder: each norm once.
    expect(norms.length).toBeGreaterThanOrEqual(5);
    const [wholeModel, probeModel, tileModel] = await Promise.all([
      StyleModel.load(model, { threads: 1 }),
      StyleModel.load(probe, { threads: 1 }),
      StyleModel.load(tile, { threads: 1 }),
    ]);
    try {
      const photo = image(61, 47, 7);
      const plain = await wholeModel.run(photo);
      const names = norms.flatMap((n) => [n.mean, n.variance]);
      const probed = await probeModel.runWith(photo, {}, names);
      expect(worst(probed.image.data, plain.data)).toBeLessThan(1e-6);
      const feeds = Object.fromEntries(norms.flatMap((n) => [n.mean, n.variance].map((name) => [name, { data: probed.extras[name]!, dims: [1, n.channels, 1, 1] }])));
      const tiled = await tileModel.runWith(photo, feeds);
      expect(worst(tiled.image.data, plain.data)).toBeLessThan(1e-4);

      // Statistics of another image change the painting: the tile graph really uses its inputs.
      const other = await probeModel.runWith(image(61, 47, 29), {}, names);
      const otherFeeds = Object.fromEntries(norms.flatMap((n) => [n.mean, n.variance].map((name) => [name, { data: other.extras[name]!, dims: [1, n.channels, 1, 1] }])));
      const mismatched = await tileModel.runWith(photo, otherFeeds);
      expect(worst(mismatched.image.data, plain.data)).toBeGreaterThan(1e-2);
    } finally {
      await Promise.all([wholeModel.dispose(), probeModel.dispose(), tileModel.dispose()]);
    }
  });

  it('rewrites an int8 (QDQ) model the same way: its instance norms stay float between DequantizeLinear and QuantizeLinear', async () => {
    const net = StyleNet.create({ channels: [8, 8, 16], residualBlocks: 1, outerKernel: 3 }, 17);
    const fp32 = exportOnnx(net);
    net.dispose();
    const keepFloat = imageConvs(fp32);
    const calibration = await calibrate(
      fp32,
      [image(50, 40, 3), image(44, 52, 11)].map((i) => ({ pixels: i.data, width: i.width, height: i.height })),
      { keepFloat, threads: 1 },
    );
    const int8 = quantizeQdq(fp32, calibration.percentile, { keepFloat });
    const graphs = thumbnailNormGraphs(int8);
    expect(graphs).toBeDefined();
    const { probe, tile, norms } = graphs!;
    const [model, probeModel, tileModel] = await Promise.all([
      StyleModel.load(int8, { threads: 1 }),
      StyleModel.load(probe, { threads: 1 }),
      StyleModel.load(tile, { threads: 1 }),
    ]);
    try {
      const photo = image(61, 47, 7);
      const plain = await model.run(photo);
      const names = norms.flatMap((n) => [n.mean, n.variance]);
      const probed = await probeModel.runWith(photo, {}, names);
      expect(worst(probed.image.data, plain.data)).toBeLessThan(1e-6);
      const feeds = Object.fromEntries(norms.flatMap((n) => [n.mean, n.variance].map((name) => [name, { data: probed.extras[name]!, dims: [1, n.channels, 1, 1] }])));
      const tiled = await tileModel.runWith(photo, feeds);
      // The multiply-add rounds differently from InstanceNormalization; where that moves a value
      // across a QuantizeLinear step the output may move by a level (measured here: not at all).
      const mean = tiled.image.data.reduce((sum, v, i) => sum + Math.abs(v - (plain.data[i] as number)), 0) / plain.data.length;
      expect(mean).toBeLessThan(0.2 / 255);
      expect(worst(tiled.image.data, plain.data)).toBeLessThan(2 / 255);
    } finally {
      await Promise.all([model.dispose(), probeModel.dispose(), tileModel.dispose()]);
    }
  });

  it('refuses bytes that are not an ONNX model', () => {
    expect(() => thumbnailNormGraphs(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});

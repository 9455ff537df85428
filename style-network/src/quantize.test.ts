import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNetworkBackend } from './backend';
import { exportOnnx } from './onnx';
import { StyleNet, type StyleNetConfig } from './network';
import { calibrate, type CalibrationImage } from './calibrate';
import { cellSeed } from './seed.mjs';
import { activationParams, channelGains, imageConvs, planQdq, quantizeQdq, QUANTIZER_VERSION } from './quantize';

const { onnx } = onnxProto;

// Wide enough that every inner conv has more than 3 channels; small enough to run in milliseconds.
const TINY: StyleNetConfig = { channels: [8, 8, 16], residualBlocks: 2, outerKernel: 3 };

const photo = (width: number, height: number, seed: number): CalibrationImage => ({
  width,
  height,
  pixels: Float32Array.from({ length: width * height * 3 }, (_, i) => ((Math.sin(i * 0.013 * seed) + 1) / 2) * 0.9 + ((i % 7) / 70)),
});

let fp32: Uint8Array;
let dir: string;
beforeAll(async () => {
  await initNetworkBackend();
  const net = StyleNet.create(TINY, 5);
  fp32 = exportOnnx(net);
  net.dispose();
  dir = await mkdtemp(join(tmpdir(), 'nst-quantize-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const session = (model: Uint8Array, optimizedModelFilePath?: string) =>
  ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    ...(optimizedModelFilePath ? { optimizedModelFilePath } : {}),
  });

async function paint(model: Uint8Array, image: CalibrationImage, feeds: Record<string, ort.Tensor> = {}): Promise<Float32Array> {
  const s = await session(model);
  const { width, height, pixels } = image;
  const plane = width * height;
  const chw = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = pixels[p * 3 + c] as number;
  const out = await s.run({ image: new ort.Tensor('float32', chw, [1, 3, height, width]), ...feeds });
  const data = Float32Array.from(out['stylized']?.data as Float32Array);
  await s.release();
  return data;
}

describe('planQdq', () => {
  it('quantizes every conv but the image-facing ones, hoisting the input quantization over reflection pads, upsampling and a sole Relu', () => {
    const keepFloat = imageConvs(fp32);
    expect(keepFloat).toEqual([expect.stringMatching(/^enc1\.conv/), expect.stringMatching(/^out\.conv/)]);
    const plan = planQdq(fp32, { keepFloat });
    // enc2, enc3, 2 residual blocks x 2, dec1, dec2.
    expect(plan.convs.map((c) => c.name.replace(/_\d+$/, ''))).toEqual([
      'enc2.conv',
      'enc3.conv',
      'res1.conv1.conv',
      'res1.conv2.conv',
      'res2.conv1.conv',
      'res2.conv2.conv',
      'dec1.conv',
      'dec2.conv',
    ]);
    const byName = new Map(plan.convs.map((c) => [c.name.replace(/_\d+$/, ''), c]));
    // enc2 reads enc1's Relu through its Pad: the Relu goes (zero point 0 clamps), the Pad runs on uint8.
    expect(byName.get('enc2.conv')).toMatchObject({ source: expect.stringMatching(/^enc1\.norm/), relu: expect.stringMatching(/^enc1\.relu/), head: expect.stringMatching(/^enc2\.pad/) });
    // enc3's Relu also feeds the first residual add: it stays, and is what gets quantized.
    expect(byName.get('res1.conv1.conv')).toMatchObject({ source: expect.stringMatching(/^enc3\.relu/), head: expect.stringMatching(/^res1\.conv1\.pad/) });
    expect(byName.get('res1.conv1.conv')?.relu).toBeUndefined();
    // The decoder's nearest upsampling is a value copy too.
    expect(byName.get('dec1.conv')).toMatchObject({ source: expect.stringMatching(/^res2\.add/), head: expect.stringMatching(/^dec1\.upsample/) });
  });
});

describe('quantizeQdq', () => {
  it('writes a deterministic QDQ model that ONNX Runtime runs with int8 QLinearConv kernels, and records what made it', async () => {
    const keepFloat = imageConvs(fp32);
    const calibration = await calibrate(fp32, [photo(40, 36, 1), photo(52, 44, 2)], { keepFloat, threads: 1 });
    const int8 = quantizeQdq(fp32, calibration.percentile, { keepFloat, metadata: { calibration: 'test' } });
    expect(quantizeQdq(fp32, calibration.percentile, { keepFloat, metadata: { calibration: 'test' } })).toEqual(int8);
    expect(int8.length).toBeLessThan(fp32.length);

    const decoded = onnx.ModelProto.decode(int8);
    const props = Object.fromEntries((decoded.metadataProps ?? []).map((p) => [p.key, p.value]));
    expect(props).toMatchObject({ quantizer_version: QUANTIZER_VERSION, precision: 'int8', calibration: 'test' });
    const weights = (decoded.graph?.initializer ?? []).filter((t) => String(t.name).endsWith('.weight.quantized'));
    expect(weights).toHaveLength(8);
    for (const w of weights) expect(w.dataType).toBe(onnx.TensorProto.DataType.INT8);

    // What ORT actually runs: its optimized graph has one QLinearConv per quantized conv and
    // float Convs only for the two kept in float.
    const optimized = join(dir, 'optimized.onnx');
    await (await session(int8, optimized)).release();
    const ops = (onnx.ModelProto.decode(await readFile(optimized)).graph?.node ?? []).map((n) => String(n.opType));
    expect(ops.filter((op) => op === 'QLinearConv')).toHaveLength(8);
    expect(ops.filter((op) => op === 'Conv' || op.startsWith('NchwcConv') || op === 'FusedConv').length).toBeLessThanOrEqual(2);
  });

  it('paints close to the float model, and far from it when the calibrated ranges are wrong', async () => {
    const keepFloat = imageConvs(fp32);
    const image = photo(48, 40, 3);
    const calibration = await calibrate(fp32, [photo(40, 36, 1), photo(52, 44, 2), image], { keepFloat, threads: 1 });
    const reference = await paint(fp32, image);
    const meanAbs = (a: Float32Array) => a.reduce((sum, v, i) => sum + Math.abs(v - (reference[i] as number)), 0) / a.length;
    const good = meanAbs(await paint(quantizeQdq(fp32, calibration.minmax, { keepFloat }), image));
    // Ranges a hundred times too narrow clip nearly every activation.
    const squeezed = new Map([...calibration.minmax].map(([k, r]) => [k, { min: r.min / 100, max: r.max / 100 }]));
    const bad = meanAbs(await paint(quantizeQdq(fp32, squeezed, { keepFloat }), image));
    expect(good).toBeLessThan(2 / 255);
    expect(bad).toBeGreaterThan(5 * good);
  });

  it('quantizes a cell-seeded network: its first conv (RGB and seed) stays float, calibration feeds the seed, and it paints like its FP32 model', async () => {
    const net = StyleNet.create({ ...TINY, seedCell: 8 }, 6);
    const seeded = exportOnnx(net);
    net.dispose();
    const keepFloat = imageConvs(seeded);
    expect(keepFloat).toEqual([expect.stringMatching(/^enc1\.conv/), expect.stringMatching(/^out\.conv/)]);
    const image = photo(48, 40, 3);
    // The graph cannot run without its seed input: calibrating at all shows calibrate fed it.
    const calibration = await calibrate(seeded, [photo(40, 36, 1), photo(52, 44, 2), image], { keepFloat, threads: 1 });
    const seed = { seed: new ort.Tensor('float32', cellSeed(40, 48, 8), [1, 2, 40, 48]) };
    const reference = await paint(seeded, image, seed);
    const int8 = await paint(quantizeQdq(seeded, calibration.minmax, { keepFloat }), image, seed);
    expect(int8.reduce((sum, v, i) => sum + Math.abs(v - (reference[i] as number)), 0) / int8.length).toBeLessThan(2 / 255);
  });

  it('gives channels a normalised conv shrank back their own resolution with channel gains', async () => {
    // Half the output channels of every inner conv scaled by 1/12: the instance norms after
    // them undo it, so the float model paints the same, but one uint8 range per tensor leaves
    // those channels a few steps.
    const model = onnx.ModelProto.decode(fp32);
    for (const tensor of model.graph?.initializer ?? []) {
      if (!/^(enc[23]|res\d\.conv\d|dec\d)\.conv\.weight$/.test(String(tensor.name))) continue;
      const raw = tensor.rawData as Uint8Array;
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const outChannels = Number(tensor.dims?.[0]);
      const per = raw.byteLength / 4 / outChannels;
      for (let i = 0; i < raw.byteLength / 4; i++) if (Math.floor(i / per) % 2 === 0) view.setFloat32(i * 4, view.getFloat32(i * 4, true) / 12, true);
    }
    const skewed = onnx.ModelProto.encode(model).finish();
    const keepFloat = imageConvs(skewed);
    const image = photo(48, 40, 3);
    const reference = await paint(fp32, image);
    const meanAbs = (a: Float32Array) => a.reduce((sum, v, i) => sum + Math.abs(v - (reference[i] as number)), 0) / a.length;
    expect(meanAbs(await paint(skewed, image))).toBeLessThan(1e-4);
    const calibration = await calibrate(skewed, [photo(40, 36, 1), photo(52, 44, 2), image], { keepFloat, threads: 1 });
    expect(calibration.channels.size).toBeGreaterThan(0);
    const without = meanAbs(await paint(quantizeQdq(skewed, calibration.percentile, { keepFloat }), image));
    const withGains = meanAbs(await paint(quantizeQdq(skewed, calibration.percentile, { keepFloat, channelRanges: calibration.channels }), image));
    expect(withGains).toBeLessThan(without / 2);
    expect(withGains).toBeLessThan(2 / 255);
  });

  it('refuses a model without the ranges it needs', () => {
    expect(() => quantizeQdq(fp32, new Map(), { keepFloat: imageConvs(fp32) })).toThrow(/no calibrated range/);
  });
});

describe('channelGains', () => {
  it('brings live channels up to the widest, at most 16x, and leaves nearly constant ones alone', () => {
    const { gains, range } = channelGains({ min: Float32Array.of(-10, -1, 0, -1e-6), max: Float32Array.of(10, 2, 0.1, 1e-6) });
    expect(Array.from(gains)).toEqual([1, 5, 16, 1]);
    expect(range).toEqual({ min: -10, max: 10 });
  });
});

describe('activationParams', () => {
  it('covers the range and zero with a uint8 step, zero exactly representable', () => {
    expect(activationParams({ min: 0, max: 2.55 })).toEqual({ scale: expect.closeTo(0.01, 9), zeroPoint: 0 });
    const mixed = activationParams({ min: -1, max: 3 });
    expect(mixed.scale).toBeCloseTo(4 / 255, 9);
    expect(mixed.zeroPoint).toBe(64);
    // A positive-only range still includes zero.
    expect(activationParams({ min: 1, max: 2 })).toEqual({ scale: expect.closeTo(2 / 255, 9), zeroPoint: 0 });
  });

});

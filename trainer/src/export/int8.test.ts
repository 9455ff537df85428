import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '@nst/runtime';
import { initBackend } from '../kernels/backend';
import { exportOnnx, QUANTIZER_VERSION, StyleNet } from '@nst/style-network';
import { checkPhoto, deriveInt8, INT8_QUALITY_THRESHOLD, modelRunner, withinThreshold } from './int8';


const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'nst-int8-'));
  const photos = join(dir, 'photos');
  await mkdir(photos);
  for (let i = 0; i < 6; i++) {
    const pixels = Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, k) => (k * (i + 3) + (k % 192) * 7) % 256));
    await writeFile(join(photos, `photo-${i}.png`), await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer());
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function paint(model: Uint8Array, image: { data: Float32Array; width: number; height: number }) {
  const runner = await modelRunner(model, 1);
  try {
    return await runner.run(image);
  } finally {
    await runner.release();
  }
}

describe('deriveInt8', () => {
  it('quantizes at export, describes how, and registers beside the FP32 model and reads back byte for byte', async () => {
    const net = StyleNet.create({ channels: [8, 8, 16], residualBlocks: 1, outerKernel: 3 }, 23);
    const fp32 = exportOnnx(net);
    net.dispose();
    const first = await deriveInt8(fp32, { photosDir: join(dir, 'photos'), threads: 1 });
    const again = await deriveInt8(fp32, { photosDir: join(dir, 'photos'), threads: 1 });
    expect(Buffer.from(again.model).equals(Buffer.from(first.model))).toBe(true);
    expect(first.info).toMatchObject({
      quantizerVersion: QUANTIZER_VERSION,
      calibration: { method: 'percentile', percentile: 0.999, photos: 1, channelGains: true, floatConvs: [expect.stringMatching(/^enc1/), expect.stringMatching(/^out/)] },
      // Six photos: index 0 calibrates, index 4 checks.
      quality: { checkPhotos: 1, jpegQuality: INT8_QUALITY_THRESHOLD.jpegQuality, minSsim: INT8_QUALITY_THRESHOLD.minSsim },
    });
    expect(first.info.quality['worstMeanAbsDiff']).toBeGreaterThanOrEqual(0);
    expect(typeof first.info.passed).toBe('boolean');

    const registry = await ModelRegistry.open(join(dir, 'registry'));
    await registry.createStyle({ id: 'quantized', displayName: 'Quantized', description: '', origin: 'test', licence: 'test', styleImage: Uint8Array.of(1) });
    const record = await registry.registerVersion('quantized', {
      model: fp32,
      weights: Uint8Array.of(1),
      metadata: { parentVersion: null, exporterVersion: 'test', network: {}, hyperparameters: {}, dataHashes: { styleImage: 'x', photos: 'y' }, losses: {}, origin: 'train', servePrecision: 'int8' },
      derivedModels: { int8: { ...first.info, model: first.model } },
    });
    expect(record.metadata.derivedModels?.int8).toMatchObject({ ...first.info, sizeBytes: first.model.length });
    const read = await (await ModelRegistry.open(join(dir, 'registry'))).readModel('quantized', 1, 'int8');
    expect(Buffer.from(read).equals(Buffer.from(first.model))).toBe(true);
  });

  it('derives and checks the INT8 model of a cell-seeded network, feeding the seed where its graph reads one', async () => {
    const net = StyleNet.create({ channels: [8, 8, 16], residualBlocks: 1, outerKernel: 3, seedCell: 8 }, 23);
    const fp32 = exportOnnx(net);
    net.dispose();
    const derived = await deriveInt8(fp32, { photosDir: join(dir, 'photos'), threads: 1 });
    expect(derived.info.calibration).toMatchObject({ floatConvs: [expect.stringMatching(/^enc1/), expect.stringMatching(/^out/)] });
    // The graph refuses to run without its seed: calibrating and checking at all show both fed it.
    // An untrained tiny network is far harder to quantize than a style, so only a loose bound (0..255).
    expect(derived.info.quality['worstMeanAbsDiff']).toBeGreaterThanOrEqual(0);
    expect(derived.info.quality['worstMeanAbsDiff']).toBeLessThan(8);
  });
});

describe('the shipped starter INT8 models', () => {
  it('paint a held-out gallery photo within the quality threshold of their FP32 models, wherever the version serves INT8', async () => {
    const registry = await ModelRegistry.open(join(repo, 'trainer', 'starter-styles'), { readOnly: true });
    const { data, info } = await sharp(join(repo, 'docs', 'gallery', 'photo-2.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const photo = { data: Float32Array.from(data, (v) => v / 255), width: info.width, height: info.height };
    let serving = 0;
    for (const style of await registry.listStyles()) {
      const version = await registry.latestVersion(style.id);
      if (version.metadata.servePrecision !== 'int8') continue;
      serving++;
      const [fp32, int8] = await Promise.all([
        paint(await registry.readModel(style.id, version.version), photo),
        paint(await registry.readModel(style.id, version.version, 'int8'), photo),
      ]);
      // The judge's part of the threshold is held by the export gate and the precision bench; here MAD and SSIM.
      const check = await checkPhoto(int8, fp32);
      expect(withinThreshold(check), `${style.id} v${version.version}: ${JSON.stringify(check)}`).toBe(true);
    }
    expect(serving).toBeGreaterThan(0);
  });
});

/**
 * Styles for tests: seeded, untrained StyleNets through the real exporter, registered the way a
 * finished job registers them. Real ONNX that StyleService runs, exported in milliseconds.
 */
import { type ModelRegistry } from '@nst/runtime/registry';
import type { NewDerivedModel } from '@nst/runtime/registry';
import { calibrate, EXPORTER_VERSION, exportOnnx, imageConvs, initNetworkBackend, quantizeQdq, QUANTIZER_VERSION, StyleNet, type StyleNetConfig } from '@nst/style-network';
import { painting } from './images';

/** A small network: a 1600x1200 image runs in a second or two, and it still paints. */
export const TINY_NETWORK: StyleNetConfig = { channels: [4, 8, 8], residualBlocks: 1, outerKernel: 3 };

export interface TinyStyleOptions {
  /** The network's shape; default TINY_NETWORK. */
  network?: StyleNetConfig;
  /** Give each version an INT8 model (calibrated on synthetic photos): served by default, or only kept. */
  int8?: 'serve' | 'keep';
}

/** An INT8 model of `model`, calibrated on two synthetic photos. */
async function tinyInt8(model: Uint8Array, passed: boolean): Promise<NewDerivedModel> {
  const keepFloat = imageConvs(model);
  const photos = [1, 2].map((k) => ({ width: 40, height: 32, pixels: Float32Array.from({ length: 40 * 32 * 3 }, (_, i) => ((i * k * 7) % 97) / 96) }));
  const calibration = await calibrate(model, photos, { keepFloat, threads: 1 });
  return {
    model: quantizeQdq(model, calibration.percentile, { keepFloat }),
    quantizerVersion: QUANTIZER_VERSION,
    calibration: { method: 'percentile', photos: photos.length },
    quality: {},
    passed,
  };
}

/**
 * Creates style `id` in the registry unless it exists, then registers one version per seed,
 * each the child of the one before; resolves with the version numbers.
 */
export async function registerTinyStyle(registry: ModelRegistry, id: string, seeds: number[], options: TinyStyleOptions = {}): Promise<number[]> {
  const network = options.network ?? TINY_NETWORK;
  await initNetworkBackend();
  if (!(await registry.hasStyle(id))) {
    await registry.createStyle({
      id,
      displayName: `Tiny ${id}`,
      description: 'A seeded, untrained network for tests.',
      origin: 'test-kit/src/tiny-styles.ts',
      licence: 'Apache-2.0 (project-made)',
      styleImage: await painting(),
    });
  }
  const versions: number[] = [];
  for (const seed of seeds) {
    const net = StyleNet.create(network, seed);
    try {
      const parent = (await registry.listVersions(id)).at(-1)?.version ?? null;
      const model = exportOnnx(net);
      const int8 = options.int8 ? await tinyInt8(model, options.int8 === 'serve') : undefined;
      const record = await registry.registerVersion(id, {
        model,
        ...(int8 ? { derivedModels: { int8 } } : {}),
        weights: net.serialize(),
        metadata: {
          parentVersion: parent,
          exporterVersion: EXPORTER_VERSION,
          network: { ...network },
          hyperparameters: { seed },
          dataHashes: { styleImage: 'test', photos: 'test' },
          losses: {},
          origin: parent === null ? 'train' : 'finetune',
          ...(options.int8 === 'serve' ? { servePrecision: 'int8' as const } : {}),
        },
      });
      versions.push(record.version);
    } finally {
      net.dispose();
    }
  }
  return versions;
}

/**
 * Styles for tests: seeded, untrained StyleNets through the real exporter, registered the way a
 * finished job registers them. Real ONNX that StyleService runs, exported in milliseconds.
 */
import { type ModelRegistry } from '@nst/runtime/registry';
import { EXPORTER_VERSION, exportOnnx, initNetworkBackend, StyleNet, type StyleNetConfig } from '@nst/style-network';
import { painting } from './images';

/** A small network: a 1600x1200 image runs in a second or two, and it still paints. */
export const TINY_NETWORK: StyleNetConfig = { channels: [4, 8, 8], residualBlocks: 1, outerKernel: 3 };

/**
 * Creates style `id` in the registry unless it exists, then registers one version per seed,
 * each the child of the one before; resolves with the version numbers.
 */
export async function registerTinyStyle(registry: ModelRegistry, id: string, seeds: number[], network: StyleNetConfig = TINY_NETWORK): Promise<number[]> {
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
      const record = await registry.registerVersion(id, {
        model: exportOnnx(net),
        weights: net.serialize(),
        metadata: {
          parentVersion: parent,
          exporterVersion: EXPORTER_VERSION,
          network: { ...network },
          hyperparameters: { seed },
          dataHashes: { styleImage: 'test', photos: 'test' },
          losses: {},
          origin: parent === null ? 'train' : 'finetune',
        },
      });
      versions.push(record.version);
    } finally {
      net.dispose();
    }
  }
  return versions;
}

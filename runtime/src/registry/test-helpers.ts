/**
 * Builders shared by the registry's tests and its kill-test writer: a style and a version's
 * metadata with every required field, so each test states only what it is about.
 */
import type { NewStyle, NewVersion } from './model-registry';
import type { NewVersionMetadata } from './schema';

export function newStyle(id: string, overrides: Partial<NewStyle> = {}): NewStyle {
  return {
    id,
    displayName: `Style ${id}`,
    description: 'Test style.',
    origin: 'Rendered by the registry tests',
    licence: 'Apache-2.0',
    styleImage: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]),
    ...overrides,
  };
}

export function newMetadata(overrides: Partial<NewVersionMetadata> = {}): NewVersionMetadata {
  return {
    parentVersion: null,
    exporterVersion: 'test-1',
    network: { filters: [8, 16], residualBlocks: 2 },
    hyperparameters: { steps: 10, styleWeight: 5 },
    dataHashes: { styleImage: 'a'.repeat(64), photos: 'b'.repeat(64) },
    losses: { total: 1.5, style: 1, content: 0.5 },
    origin: 'train',
    jobId: 'job-1',
    ...overrides,
  };
}

export function newVersion(model: Uint8Array, weights: Uint8Array, overrides: Partial<NewVersionMetadata> = {}): NewVersion {
  return { model, weights, metadata: newMetadata(overrides) };
}

import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNetworkBackend } from './backend.js';
import { ONNX_SEED_CELL_KEY, seedCellOf } from './contract.js';
import { StyleNet } from './network.js';
import { exportOnnx } from './onnx.js';

const { onnx } = onnxProto;
const TINY = { channels: [4, 6, 8] as [number, number, number], residualBlocks: 1, outerKernel: 3 };

beforeAll(async () => {
  await initNetworkBackend();
});

describe('seedCellOf', () => {
  it("reads the seed spacing StyleService must feed from a seeded model's metadata, and nothing from a plain one", () => {
    const plain = StyleNet.create(TINY, 1);
    const seeded = StyleNet.create({ ...TINY, seedCell: 24 }, 1);
    expect(seedCellOf(exportOnnx(plain))).toBeUndefined();
    const model = exportOnnx(seeded);
    expect(seedCellOf(model)).toBe(24);
    expect(onnx.ModelProto.decode(model).graph?.input?.map((i) => i.name)).toEqual(['image', 'seed']);
    plain.dispose();
    seeded.dispose();
  });

  it('refuses a model whose seed metadata is not a spacing in pixels, rather than feeding it a wrong seed', () => {
    const seeded = StyleNet.create({ ...TINY, seedCell: 24 }, 1);
    const model = onnx.ModelProto.decode(exportOnnx(seeded));
    seeded.dispose();
    for (const entry of model.metadataProps ?? []) if (entry.key === ONNX_SEED_CELL_KEY) entry.value = 'big';
    expect(() => seedCellOf(onnx.ModelProto.encode(model).finish())).toThrow(/seed_cell.*big/);
  });
});

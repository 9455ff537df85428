import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * What a served model's graph promises, without loading TF.js, the network or the exporter: StyleService
 * feeds `image` ([N,3,H,W] floats 0..1, any H and W) and reads `stylized` (the same shape). A
 * seeded network (StyleNetConfig.seedCell) also takes `seed` ([N,2,H,W], the cell seed of the
 * pixels fed, seed.mjs), at the grid spacing its metadata names under `seed_cell`.
 */
export const ONNX_INPUT_NAME = 'image';
export const ONNX_OUTPUT_NAME = 'stylized';
export const ONNX_SEED_INPUT_NAME = 'seed';
export const ONNX_SEED_CELL_KEY = 'seed_cell';

/** The cell seed's grid spacing a model's graph wants fed, or undefined when it takes no seed. */
export function seedCellOf(model: Uint8Array): number | undefined {
  const entry = onnx.ModelProto.decode(model).metadataProps?.find((p) => p.key === ONNX_SEED_CELL_KEY);
  if (!entry) return undefined;
  const cell = Number(entry.value);
  if (!Number.isInteger(cell) || cell < 2) throw new Error(`the model's ${ONNX_SEED_CELL_KEY} metadata is not a spacing in pixels: ${entry.value}`);
  return cell;
}

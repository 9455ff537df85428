/**
 * ONNX Runtime feeds for a whole photo, as StyleService gives a model: the image, plus the cell
 * seed of the whole photo where the model reads one. For the callers that run a style model's
 * graph in their own session (INT8 calibration, the export gate); StyleService's session
 * workers build theirs per tile.
 */
import * as ort from 'onnxruntime-node';
import { ONNX_INPUT_NAME, ONNX_SEED_INPUT_NAME } from './contract';
import { seedInput } from './seed.mjs';

/** `chw` is the photo as planar RGB; `seedCell` what seedCellOf read from the model. Dispose the tensors after the run. */
export function photoFeeds(chw: Float32Array, height: number, width: number, seedCell: number | undefined): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = { [ONNX_INPUT_NAME]: new ort.Tensor('float32', chw, [1, 3, height, width]) };
  if (seedCell !== undefined) {
    const seed = seedInput(height, width, seedCell);
    feeds[ONNX_SEED_INPUT_NAME] = new ort.Tensor('float32', seed.data, seed.dims);
  }
  return feeds;
}

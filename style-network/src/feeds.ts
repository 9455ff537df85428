/**
 * ONNX Runtime feeds for a whole photo, as StyleService gives a model: the image, plus the cell
 * seed of the whole photo where the model reads one. For the callers that run a style model's
 * graph in their own session (INT8 calibration, the export gate); StyleService's session
 * workers build theirs per tile.
 */
import * as ort from 'onnxruntime-node';
import { ONNX_INPUT_NAME, ONNX_SEED_INPUT_NAME } from './contract';
import { seedInput } from './seed.mjs';

/** The photo as planar RGB (NCHW's C, H, W), from interleaved (HWC) pixels. */
function planar(hwc: Float32Array, height: number, width: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    out[p] = hwc[i] as number;
    out[plane + p] = hwc[i + 1] as number;
    out[2 * plane + p] = hwc[i + 2] as number;
  }
  return out;
}

/** `hwc` is the photo as interleaved float RGB; `seedCell` what seedCellOf read from the model. Dispose the tensors after the run. */
export function photoFeeds(hwc: Float32Array, height: number, width: number, seedCell: number | undefined): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = { [ONNX_INPUT_NAME]: new ort.Tensor('float32', planar(hwc, height, width), [1, 3, height, width]) };
  if (seedCell !== undefined) {
    const seed = seedInput(height, width, seedCell);
    feeds[ONNX_SEED_INPUT_NAME] = new ort.Tensor('float32', seed.data, seed.dims);
  }
  return feeds;
}

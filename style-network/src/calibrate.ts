/**
 * Calibration for static int8 quantization (quantize.ts): runs the float model in ONNX Runtime
 * on photos with every tensor the quantized graph needs exposed as an output, and records the
 * range each takes. Two ways to turn values into a range, both kept so they can be compared:
 *
 *   minmax      the smallest and largest value seen on any photo: nothing clips, but one
 *               outlier pixel widens the step for every other one;
 *   percentile  per photo, the values at (1 - p) and p of a 2048-bin histogram; per tensor the
 *               widest of those over the photos: the rare extremes clip, the step shrinks.
 *
 * Measured (INT8 against FP32 on the six gallery photos, first and last conv in float): on all
 * seven starter styles percentile 0.999 beat minmax, 0.9999 and 0.99999 in mean absolute
 * difference and SSIM (mosaic 1.6 against 2.9, elephants 3.8 against 7.0 for minmax); on
 * elephants, the most sensitive, 0.99 / 0.995 / 0.998 clipped too much (11.2 / 7.1 / 4.1
 * against 3.5). With quantize.ts's channel gains 0.999 stayed best or level against 0.998 and
 * 0.9995 (composition-viii the exception, 0.17 better at 0.9995), so it is the default.
 *
 * Calibration photos are training photos (trainer/photos), never the gallery's held-out ones.
 */
import * as ort from 'onnxruntime-node';
import { planQdq, withTensorOutputs, type ChannelRanges, type PlanOptions, type TensorRange } from './quantize';
import { seedCellOf } from './contract';
import { photoFeeds } from './feeds';

export type CalibrationMethod = 'minmax' | 'percentile';

/** One calibration photo: float RGB 0..1, interleaved (HWC), as photos.ts decodes it. */
export interface CalibrationImage {
  pixels: Float32Array;
  width: number;
  height: number;
}

export interface Calibration {
  minmax: Map<string, TensorRange>;
  percentile: Map<string, TensorRange>;
  /** Per-channel percentile ranges of the outputs of convs that feed an instance norm (for quantize.ts's channel gains). */
  channels: Map<string, ChannelRanges>;
  /** The percentile used for `percentile`, e.g. 0.9999. */
  p: number;
  photos: number;
}

export interface CalibrateOptions extends PlanOptions {
  /** Upper percentile per photo (the lower one is 1 - p). Default 0.9999. */
  p?: number;
  /** ORT intra-op threads. Default 2. */
  threads?: number;
}

export const DEFAULT_PERCENTILE = 0.999;
const BINS = 2048;

/** The values at quantiles (1 - p) and p of `data`, from a histogram over its own range. */
function percentileRange(data: Float32Array, min: number, max: number, p: number): TensorRange {
  return percentileOf(data, 0, data.length, min, max, p);
}

function rangeOf(data: Float32Array, from: number, to: number): TensorRange {
  let min = Infinity;
  let max = -Infinity;
  for (let i = from; i < to; i++) {
    const v = data[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** Per channel of an NCHW tensor (batch 1), the percentile range of its plane. */
function channelPercentiles(data: Float32Array, channels: number, p: number): ChannelRanges {
  const plane = data.length / channels;
  const out = { min: new Float32Array(channels), max: new Float32Array(channels) };
  for (let c = 0; c < channels; c++) {
    const full = rangeOf(data, c * plane, (c + 1) * plane);
    const clipped = percentileOf(data, c * plane, (c + 1) * plane, full.min, full.max, p);
    out.min[c] = clipped.min;
    out.max[c] = clipped.max;
  }
  return out;
}

function percentileOf(data: Float32Array, from: number, to: number, min: number, max: number, p: number): TensorRange {
  if (!(max > min)) return { min, max };
  const hist = new Uint32Array(BINS);
  const width = (max - min) / BINS;
  for (let i = from; i < to; i++) {
    const bin = Math.min(BINS - 1, Math.floor(((data[i] as number) - min) / width));
    hist[bin] = (hist[bin] as number) + 1;
  }
  const tail = (1 - p) * (to - from);
  let low = min;
  for (let b = 0, seen = 0; b < BINS; b++) {
    seen += hist[b] as number;
    if (seen > tail) {
      low = min + b * width;
      break;
    }
  }
  let high = max;
  for (let b = BINS - 1, seen = 0; b >= 0; b--) {
    seen += hist[b] as number;
    if (seen > tail) {
      high = min + (b + 1) * width;
      break;
    }
  }
  return { min: low, max: high };
}

/** Ranges of every tensor planQdq(model) names, over `images`. */
export async function calibrate(model: Uint8Array, images: readonly CalibrationImage[], options: CalibrateOptions = {}): Promise<Calibration> {
  if (images.length === 0) throw new Error('calibration needs at least one photo');
  const p = options.p ?? DEFAULT_PERCENTILE;
  const { tensors, convs } = planQdq(model, options);
  const normalizedOutputs = new Set([...convs.filter((c) => c.normalized).map((c) => c.output), ...convs.filter((c) => c.sourceNorm).map((c) => c.source)]);
  const seedCell = seedCellOf(model);
  const session = await ort.InferenceSession.create(withTensorOutputs(model, tensors), {
    intraOpNumThreads: options.threads ?? 2,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const minmax = new Map<string, TensorRange>();
  const percentile = new Map<string, TensorRange>();
  const channels = new Map<string, ChannelRanges>();
  try {
    for (const image of images) {
      const feeds = photoFeeds(image.pixels, image.height, image.width, seedCell);
      const results = await session.run(feeds, tensors);
      for (const name of tensors) {
        const tensor = results[name];
        if (!tensor) throw new Error(`calibration graph produced no ${name}`);
        const data = tensor.data as Float32Array;
        const { min, max } = rangeOf(data, 0, data.length);
        const seen = minmax.get(name);
        minmax.set(name, { min: Math.min(min, seen?.min ?? Infinity), max: Math.max(max, seen?.max ?? -Infinity) });
        const clipped = percentileRange(data, min, max, p);
        const widest = percentile.get(name);
        percentile.set(name, { min: Math.min(clipped.min, widest?.min ?? Infinity), max: Math.max(clipped.max, widest?.max ?? -Infinity) });
        if (normalizedOutputs.has(name)) {
          const own = channelPercentiles(data, Number(tensor.dims[1]), p);
          const seen = channels.get(name);
          if (seen) {
            for (let c = 0; c < own.min.length; c++) {
              seen.min[c] = Math.min(seen.min[c] as number, own.min[c] as number);
              seen.max[c] = Math.max(seen.max[c] as number, own.max[c] as number);
            }
          } else channels.set(name, own);
        }
      }
      for (const tensor of [...Object.values(feeds), ...Object.values(results)]) tensor.dispose();
    }
  } finally {
    await session.release();
  }
  return { minmax, percentile, channels, p, photos: images.length };
}

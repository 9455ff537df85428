/**
 * Quality scores for the gallery: how much a picture looks like the style (Gram distance under
 * a feature network whose seed differs from the training loss, so the model cannot have
 * overfitted the judge) and how much of the photo's structure survives (SSIM of luminance).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ssim } from 'ssim.js';
import { gramMatrix } from '../loss/features';
import type { RgbImage } from './colour-transfer';

/** Any feature extractor: NHWC [0,1] in, one feature map per layer out. */
export type FeatureExtractor = (x: tf.Tensor4D) => tf.Tensor4D[];

export function toTensor(image: RgbImage): tf.Tensor4D {
  return tf.tensor4d(image.data, [1, image.height, image.width, 3]);
}

/**
 * Mean over layers of ||G(x) - G(style)||_F / ||G(style)||_F: 0 is a perfect match; an
 * unrelated picture usually scores near or above 1.
 */
export function styleDistance(extract: FeatureExtractor, image: RgbImage, style: RgbImage): number {
  const perLayer = styleDistanceByLayer(extract, image, style);
  return perLayer.reduce((a, b) => a + b, 0) / perLayer.length;
}

/**
 * styleDistance layer by layer, shallow to deep: says at which scale a picture differs from
 * the painting (colour at the stem, cells and their borders at stride 8-16).
 */
export function styleDistanceByLayer(extract: FeatureExtractor, image: RgbImage, style: RgbImage): number[] {
  return tf.tidy(() => {
    const a = extract(toTensor(image));
    const b = extract(toTensor(style));
    return a.map((fa, i) => {
      const ga = gramMatrix(fa);
      const gb = gramMatrix(b[i]!);
      return tf.div(tf.norm(tf.sub(ga, gb)), tf.add(tf.norm(gb), 1e-8)).dataSync()[0]!;
    });
  });
}

function toImageData(image: RgbImage): { data: Uint8ClampedArray; width: number; height: number } {
  const n = image.width * image.height;
  const data = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    data[i * 4] = image.data[i * 3]! * 255;
    data[i * 4 + 1] = image.data[i * 3 + 1]! * 255;
    data[i * 4 + 2] = image.data[i * 3 + 2]! * 255;
    data[i * 4 + 3] = 255;
  }
  return { data, width: image.width, height: image.height };
}

/** Mean SSIM of luminance between a result and its input photo (1 = identical structure). */
export function contentStructure(result: RgbImage, photo: RgbImage): number {
  // ssim.js reduces RGBA to luminance itself (rgb2gray) before comparing windows.
  return ssim(toImageData(result) as ImageData, toImageData(photo) as ImageData, { ssim: 'weber' }).mssim;
}

/**
 * Fraction of pixels that are a pure primary or secondary colour (every channel within 0.1 of
 * 0 or 1, not black or white): the sigmoid output saturating, the pure-blue patches with red
 * fringes the first starter models painted in dark areas (0.3-0.5% of a 1600 px forest photo).
 */
export function saturatedFraction(image: RgbImage): number {
  const { data } = image;
  const pixels = data.length / 3;
  let saturated = 0;
  for (let i = 0; i < data.length; i += 3) {
    let extremes = 0;
    let ones = 0;
    for (let c = 0; c < 3; c += 1) {
      const v = data[i + c]!;
      if (v <= 0.1) extremes += 1;
      else if (v >= 0.9) {
        extremes += 1;
        ones += 1;
      }
    }
    if (extremes === 3 && ones > 0 && ones < 3) saturated += 1;
  }
  return saturated / pixels;
}

/**
 * How strongly a picture repeats itself on a lattice: the highest autocorrelation of its
 * luminance detail (luminance minus its 5x5 local mean) over shifts of 4 to `maxShift` pixels
 * in any direction, less its autocorrelation at half that shift. The weave InceptionV3-trained networks painted (dashes repeating every
 * 4-13 pixels on a diagonal lattice, MEASUREMENTS 10 in loss/style-loss) scores high;
 * photographs and painted strokes, whose detail does not repeat at one exact shift, low.
 */
export function gridStrength(image: RgbImage, maxShift = 16): number {
  const { width, height, data } = image;
  const lum = new Float32Array(width * height);
  for (let i = 0; i < lum.length; i++) lum[i] = 0.299 * data[i * 3]! + 0.587 * data[i * 3 + 1]! + 0.114 * data[i * 3 + 2]!;
  const half = 2;
  const detail = new Float32Array(width * height);
  for (let y = half; y < height - half; y++) {
    for (let x = half; x < width - half; x++) {
      let sum = 0;
      for (let v = -half; v <= half; v++) for (let u = -half; u <= half; u++) sum += lum[(y + v) * width + x + u]!;
      detail[y * width + x] = lum[y * width + x]! - sum / (2 * half + 1) ** 2;
    }
  }
  // Every other pixel: the correlations barely change and it runs 4x faster.
  const margin = half + maxShift;
  // Detail below a grey level's size is rounding, not a pattern.
  let energy = 0;
  let count = 0;
  for (let y = margin; y < height - margin; y += 2) {
    for (let x = margin; x < width - margin; x += 2) {
      energy += detail[y * width + x]! ** 2;
      count += 1;
    }
  }
  if (count === 0 || energy / count < (1 / 255) ** 2) return 0;
  const span = 2 * maxShift + 1;
  const correlations = new Float64Array(span * (maxShift + 1));
  const at = (dx: number, dy: number) => correlations[dy * span + dx + maxShift]!;
  for (let dy = 0; dy <= maxShift; dy++) {
    for (let dx = -maxShift; dx <= maxShift; dx++) {
      let cross = 0;
      let a2 = 0;
      let b2 = 0;
      for (let y = margin; y < height - margin; y += 2) {
        for (let x = margin; x < width - margin; x += 2) {
          const a = detail[y * width + x]!;
          const b = detail[(y + dy) * width + x + dx]!;
          cross += a * b;
          a2 += a * a;
          b2 += b * b;
        }
      }
      correlations[dy * span + dx + maxShift] = a2 > 0 && b2 > 0 ? cross / Math.sqrt(a2 * b2) : 0;
    }
  }
  // A lattice repeats at a shift and not halfway to it; a straight stroke or stripe also
  // matches itself shifted along its length, but then halfway too, so it scores nothing.
  let best = 0;
  for (let dy = 0; dy <= maxShift; dy++) {
    for (let dx = -maxShift; dx <= maxShift; dx++) {
      if (Math.max(Math.abs(dx), dy) < 4) continue;
      best = Math.max(best, at(dx, dy) - at(Math.round(dx / 2), Math.round(dy / 2)));
    }
  }
  return best;
}

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
  return tf.tidy(() => {
    const a = extract(toTensor(image));
    const b = extract(toTensor(style));
    const per = a.map((fa, i) => {
      const ga = gramMatrix(fa);
      const gb = gramMatrix(b[i]!);
      return tf.div(tf.norm(tf.sub(ga, gb)), tf.add(tf.norm(gb), 1e-8));
    });
    return tf.div(tf.addN(per), per.length).dataSync()[0]!;
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

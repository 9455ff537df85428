/**
 * RgbImage to and from image files, for the quality scripts (gallery, ceiling, judge-weights)
 * that read held-out photos and write what the models made of them.
 */
import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from './colour-transfer';

/** Decodes an image (EXIF-rotated, alpha dropped) scaled to fit `size` x `size`, values in [0, 1]. */
export async function loadRgb(source: string | Uint8Array, size: number): Promise<RgbImage> {
  const { data, info } = await sharp(source).rotate().resize(size, size, { fit: 'inside' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: Float32Array.from(data, (v) => v / 255), width: info.width, height: info.height };
}

/** The image as a sharp pipeline over its 8-bit pixels (clamped), ready to encode. */
export function rgbSharp(image: RgbImage): Sharp {
  const bytes = Buffer.from(Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  return sharp(bytes, { raw: { width: image.width, height: image.height, channels: 3 } });
}

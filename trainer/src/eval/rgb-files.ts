/**
 * RgbImage to and from image files, for the quality scripts (gallery, ceiling, judge-weights)
 * that read held-out photos and write what the models made of them.
 */
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from './colour-transfer';

/**
 * Decodes an image (EXIF-rotated, alpha dropped) scaled to fit `size` x `size`, values in
 * [0, 1]; `gain` multiplies them first (0.3 darkens to under a third, as darkPhotos does).
 */
export async function loadRgb(source: string | Uint8Array, size: number, options: { gain?: number } = {}): Promise<RgbImage> {
  const { data, info } = await sharp(source)
    .rotate()
    .resize(size, size, { fit: 'inside' })
    .linear(options.gain ?? 1, 0)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: Float32Array.from(data, (v) => v / 255), width: info.width, height: info.height };
}

/** The image as a sharp pipeline over its 8-bit pixels (clamped), ready to encode. */
export function rgbSharp(image: RgbImage): Sharp {
  const bytes = Buffer.from(Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  return sharp(bytes, { raw: { width: image.width, height: image.height, channels: 3 } });
}

/**
 * Two shipped training photos, darkened to 0.3 at 768 px: where the first starter models
 * painted pure-blue patches with red fringes (the output sigmoid saturating). The dark-areas
 * system test and judge-weights --dark score saturatedFraction on these.
 */
export const DARK_AREA_PHOTOS = ['Wood.jpg', 'explore-world-animals-panda.jpg'].map((name) => fileURLToPath(new URL(`../../photos/${name}`, import.meta.url)));

export function darkPhotos(): Promise<RgbImage[]> {
  return Promise.all(DARK_AREA_PHOTOS.map((path) => loadRgb(path, 768, { gain: 0.3 })));
}

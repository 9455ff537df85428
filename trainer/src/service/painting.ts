/**
 * Checks an uploaded painting before a job is queued for it: within the byte limit, a format
 * sharp knows, dimensions read from the header and bounded before any full decode (so a
 * decompression bomb costs nothing), and then a bounded full decode that catches truncated
 * or corrupt files.
 */
import sharp, { type Metadata } from 'sharp';
import { invalidArgument, resourceExhausted } from './errors';

export interface PaintingLimits {
  /** Bytes one painting may have. */
  maxBytes: number;
  /** Pixels (width x height) one painting may declare. */
  maxPixels: number;
}

export interface CheckedPainting {
  format: string;
  width: number;
  height: number;
  /** File extension for the stored copy. */
  extension: string;
}

const FORMATS: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', heif: 'avif', tiff: 'tif', gif: 'gif' };
/** Smallest side that still yields style statistics at the coarsest loss scale. */
const MIN_SIDE = 64;

const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`;

/** Throws a bytes-limit error as soon as a running upload passes the limit. */
export function checkPaintingSize(received: number, limits: PaintingLimits): void {
  if (received > limits.maxBytes) {
    throw resourceExhausted(`the painting is larger than the ${mb(limits.maxBytes)} limit; send a smaller image`);
  }
}

export async function checkPainting(bytes: Uint8Array, limits: PaintingLimits): Promise<CheckedPainting> {
  if (bytes.length === 0) throw invalidArgument('the painting is empty: send the image bytes after the header');
  checkPaintingSize(bytes.length, limits);
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw invalidArgument('the painting is not an image this service can read; send a JPEG, PNG, WebP, AVIF, TIFF or GIF');
  }
  const extension = metadata.format ? FORMATS[metadata.format] : undefined;
  if (!extension) {
    throw invalidArgument(`the painting is in ${metadata.format ?? 'an unknown'} format; send a JPEG, PNG, WebP, AVIF, TIFF or GIF`);
  }
  const width = metadata.width ?? 0;
  const height = metadata.height ?? 0;
  if (width * height > limits.maxPixels) {
    throw invalidArgument(
      `the painting declares ${width}x${height} pixels, more than the ${(limits.maxPixels / 1e6).toFixed(0)} megapixel limit; send a smaller image`,
    );
  }
  if (Math.min(width, height) < MIN_SIDE) {
    throw invalidArgument(`the painting is ${width}x${height} pixels; its shorter side needs at least ${MIN_SIDE} pixels`);
  }
  try {
    // Decode everything (failOn 'warning' rejects truncated data) but keep memory bounded.
    await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'warning' })
      .resize({ width: 512, height: 512, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer();
  } catch (error) {
    throw invalidArgument(
      `the painting could not be decoded (${error instanceof Error ? error.message.split('\n')[0] : 'corrupt data'}); it may be truncated or damaged`,
    );
  }
  return { format: metadata.format!, width, height, extension };
}

/** Side limit of the stored style image: ample for the loss (it works near crop size). */
const STYLE_IMAGE_MAX_SIDE = 2048;

/**
 * The painting as the JPEG the style is trained on and stored with in the registry (EXIF
 * orientation applied, sRGB, alpha flattened on white, at most 2048 pixels on the long side),
 * so a later fine-tune trains against exactly the same image.
 */
export async function normalisePainting(bytes: Uint8Array, limits: PaintingLimits): Promise<Uint8Array> {
  const jpeg = await sharp(bytes, { limitInputPixels: limits.maxPixels })
    .rotate()
    .resize({ width: STYLE_IMAGE_MAX_SIDE, height: STYLE_IMAGE_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .jpeg({ quality: 92, chromaSubsampling: '4:4:4' })
    .toBuffer();
  return new Uint8Array(jpeg);
}

/** A small JPEG of the painting for galleries. */
export async function paintingThumbnail(jpeg: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(jpeg).resize({ width: 256, height: 256, fit: 'inside' }).jpeg({ quality: 80 }).toBuffer());
}

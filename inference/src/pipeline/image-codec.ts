/**
 * Decoding uploads and encoding results with sharp (libvips; asynchronous, off the event loop).
 *
 * Uploads are untrusted. The header is inspected first (sharp's metadata reads only the image
 * header) and the declared pixel count is checked against the limit BEFORE any full decode,
 * so a small file declaring 30000x30000 pixels (a decompression bomb) is refused cheaply; the
 * decode itself runs with `limitInputPixels` as a second guard.
 */
import sharp, { type Metadata } from 'sharp';
import { formatPixels, invalidArgument, resourceExhausted } from '../service/errors';
import type { RgbImage } from './tiling';

/** Output formats the service encodes. */
export type ImageFormat = 'jpeg' | 'png' | 'webp';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** Encoder quality used when a request does not ask for one. */
export const DEFAULT_QUALITY = 90;

const READABLE = 'JPEG, PNG, WebP, AVIF, TIFF or GIF';

export interface ImageHeader {
  format: string;
  width: number;
  height: number;
}

/** 8-bit sRGB pixels, HWC, 3 channels. */
export interface DecodedImage {
  pixels: Buffer;
  width: number;
  height: number;
}

function describeStart(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 12));
  const printable = [...head].every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  return printable ? `text "${head.toString('latin1').replace(/\s+/g, ' ')}..."` : `bytes ${head.toString('hex')}`;
}

/**
 * Reads the image header and enforces the pixel limit. INVALID_ARGUMENT when the bytes are not
 * an image; RESOURCE_EXHAUSTED when the declared size is over `maxPixels`.
 */
export async function inspectImage(bytes: Uint8Array, maxPixels: number): Promise<ImageHeader> {
  if (bytes.length === 0) {
    throw invalidArgument('the image is empty (0 bytes); send the encoded photo after the header');
  }
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw invalidArgument(
      `the upload is not an image this service can read (${READABLE}); it starts with ${describeStart(bytes)} ` +
        `(${(error as Error).message})`,
    );
  }
  const { format, width, height } = metadata;
  if (!width || !height) {
    throw invalidArgument(`the ${format} image declares no dimensions; it is probably corrupt`);
  }
  if (width * height > maxPixels) {
    throw resourceExhausted(
      `image is ${width}x${height} (${formatPixels(width * height)}); the limit is ${formatPixels(maxPixels)} ` +
        `(NST_MAX_PIXELS=${maxPixels}); scale it down before uploading`,
    );
  }
  return { format, width, height };
}

export interface DecodeOptions {
  maxPixels: number;
  /** Longest side after decoding; larger images are scaled down. 0 = no cap. */
  maxDimension: number;
}

/**
 * Decodes an upload to 8-bit sRGB. EXIF orientation is applied, so the result is upright.
 * Alpha is flattened onto white on purpose: the style network paints RGB only, the colours
 * under transparent pixels are arbitrary, and white is what a viewer shows behind them; the
 * result is therefore always opaque.
 */
/** The largest width or height sharp's resize accepts. */
const SHARP_MAX_SIDE = 100_000_000;

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  let pipeline = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'error' })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb');
  if (options.maxDimension > 0) {
    // sharp refuses sizes over 100,000,000; a cap that large (max_dimension is a uint32) caps nothing.
    const cap = Math.min(options.maxDimension, SHARP_MAX_SIDE);
    pipeline = pipeline.resize({
      width: cap,
      height: cap,
      fit: 'inside',
      withoutEnlargement: true,
    });
  }
  try {
    const { data, info } = await pipeline.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { pixels: data, width: info.width, height: info.height };
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw resourceExhausted(`image is over the limit of ${formatPixels(options.maxPixels)}: ${message}`);
    }
    throw invalidArgument(`the image could not be decoded; it may be truncated or corrupt (${message.trim()})`);
  }
}

/**
 * 8-bit RGB pixels shrunk to fit `maxSide` (aspect kept; never enlarged), as the float image
 * the style network takes: the input of the tiling's tone reference.
 */
export async function downscaleRgb(pixels: Uint8Array, width: number, height: number, maxSide: number): Promise<RgbImage> {
  const { data, info } = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const floats = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) floats[i] = (data[i] as number) / 255;
  return { data: floats, width: info.width, height: info.height };
}

/** Encodes 8-bit RGB pixels. `quality` 0 means DEFAULT_QUALITY; PNG ignores quality. */
export async function encodeImage(
  pixels: Uint8Array,
  width: number,
  height: number,
  format: ImageFormat,
  quality: number,
): Promise<Buffer> {
  const q = quality > 0 ? quality : DEFAULT_QUALITY;
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: q }).toBuffer();
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp({ quality: q }).toBuffer();
  }
}

/**
 * Training data: every jpg/png/webp under a folder (recursive), decoded with sharp, served
 * as batches of random square crops (random scale and position, random horizontal flip).
 * Deterministic for a seed: all randomness comes from one small PRNG whose state is a
 * single number, so a checkpoint can store the exact position and resume reproduces the
 * same batches.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/**
 * mulberry32: a tiny, fast 32-bit PRNG. Hand-written rather than a library because its
 * whole state is one uint32 that we store in checkpoints to resume the exact sequence.
 */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export async function listImageFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    if (!IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) continue;
    const file = path.join(e.parentPath, e.name);
    // Symlinked photos count (training sets are often links into system folders).
    if (e.isFile() || (e.isSymbolicLink() && (await stat(file).catch(() => undefined))?.isFile())) files.push(file);
  }
  return files.sort();
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface DecodedPhoto {
  data: Buffer;
  width: number;
  height: number;
}

export interface PhotoBatch {
  /** NHWC float32 in [0, 1]: batch * size * size * 3 values. */
  pixels: Float32Array;
  batch: number;
  size: number;
}

export interface PhotoSourceOptions {
  /** Side of the square crops. */
  imageSize: number;
  /** Crop side as a fraction of the photo's shorter side is drawn from [minScale, 1]. */
  minScale?: number;
  /** Keep decoded photos in memory up to this many bytes (default 768 MiB). */
  cacheBytes?: number;
}

/**
 * Photos are decoded once, downscaled so the shorter side is 1.5x the crop size (the
 * largest crop we take is the full shorter side, so more resolution would be discarded
 * anyway), and kept as raw RGB within a memory budget; beyond it they are re-decoded.
 */
export class PhotoSource {
  readonly files: readonly string[];
  readonly fileHashes: readonly string[];
  readonly imageSize: number;
  readonly minScale: number;
  private readonly cacheBytes: number;
  private readonly cache = new Map<number, DecodedPhoto>();
  private cachedBytes = 0;

  private constructor(files: string[], hashes: string[], options: PhotoSourceOptions) {
    this.files = files;
    this.fileHashes = hashes;
    this.imageSize = options.imageSize;
    this.minScale = options.minScale ?? 0.5;
    this.cacheBytes = options.cacheBytes ?? 768 * 1024 * 1024;
  }

  static async open(root: string, options: PhotoSourceOptions): Promise<PhotoSource> {
    const files = await listImageFiles(root);
    if (files.length === 0) throw new Error(`no jpg/png/webp images under ${root}`);
    const hashes: string[] = [];
    for (const file of files) hashes.push(sha256(await readFile(file)));
    return new PhotoSource(files, hashes, options);
  }

  /** SHA-256 over the sorted list of the training files' SHA-256 hashes. */
  get datasetHash(): string {
    return sha256(new TextEncoder().encode([...this.fileHashes].sort().join('\n')));
  }

  private async decoded(index: number): Promise<DecodedPhoto> {
    const hit = this.cache.get(index);
    if (hit) return hit;
    const shorter = Math.round(this.imageSize * 1.5);
    const { data, info } = await sharp(this.files[index]!)
      .rotate() // honour EXIF orientation
      .removeAlpha()
      .toColourspace('srgb')
      .resize({ width: shorter, height: shorter, fit: 'outside', withoutEnlargement: false })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const photo = { data, width: info.width, height: info.height };
    if (this.cachedBytes + data.length <= this.cacheBytes) {
      this.cache.set(index, photo);
      this.cachedBytes += data.length;
    }
    return photo;
  }

  /**
   * One batch. All random draws happen synchronously up front, in a fixed order, so the
   * sequence depends only on the RNG state, never on decode timing.
   */
  async batch(rng: Rng, batchSize: number): Promise<PhotoBatch> {
    const plans = Array.from({ length: batchSize }, () => ({
      index: rng.below(this.files.length),
      scale: this.minScale + (1 - this.minScale) * rng.next(),
      x: rng.next(),
      y: rng.next(),
      flip: rng.next() < 0.5,
    }));
    const size = this.imageSize;
    const pixels = new Float32Array(batchSize * size * size * 3);
    await Promise.all(
      plans.map(async (plan, slot) => {
        const photo = await this.decoded(plan.index);
        const side = Math.max(1, Math.round(Math.min(photo.width, photo.height) * plan.scale));
        const left = Math.floor(plan.x * (photo.width - side + 1));
        const top = Math.floor(plan.y * (photo.height - side + 1));
        let crop = sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
          .extract({ left, top, width: side, height: side })
          .resize(size, size, { kernel: 'lanczos3' });
        if (plan.flip) crop = crop.flop();
        const raw = await crop.raw().toBuffer();
        const offset = slot * size * size * 3;
        for (let i = 0; i < raw.length; i++) pixels[offset + i] = raw[i]! / 255;
      }),
    );
    return { pixels, batch: batchSize, size };
  }
}

/** Decodes any image file or bytes to float RGB [0, 1] (HWC), optionally bounded in size. */
export async function decodeImage(
  source: string | Uint8Array,
  maxSide?: number,
): Promise<{ pixels: Float32Array; width: number; height: number }> {
  let image = sharp(source).rotate().removeAlpha().toColourspace('srgb');
  if (maxSide !== undefined) image = image.resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  const pixels = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) pixels[i] = data[i]! / 255;
  return { pixels, width: info.width, height: info.height };
}

/** Encodes NHWC/HWC float [0, 1] RGB pixels (one image) to JPEG. */
export async function encodeJpeg(pixels: Float32Array | Uint8Array, width: number, height: number, quality = 80): Promise<Uint8Array> {
  const bytes = new Uint8Array(width * height * 3);
  if (pixels instanceof Float32Array) {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(pixels[i]! * 255)));
  } else {
    bytes.set(pixels.subarray(0, bytes.length));
  }
  const jpeg = await sharp(bytes, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
  return new Uint8Array(jpeg);
}

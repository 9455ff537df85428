import { status } from '@grpc/grpc-js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bombPng, photoJpeg, TEXT_NAMED_PNG, truncate } from '@nst/test-kit';
import { StyleServiceError } from '../service/errors';
import { decodeImage, encodeImage, inspectImage } from './image-codec';

const MAX_PIXELS = 40_000_000;

async function failure(promise: Promise<unknown>): Promise<StyleServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StyleServiceError);
  return error as StyleServiceError;
}

describe('inspectImage', () => {
  it('refuses a decompression bomb from its header, before decoding', async () => {
    const bomb = bombPng(30000);
    expect(bomb.length).toBeLessThan(2000);
    const started = performance.now();
    const error = await failure(inspectImage(bomb, MAX_PIXELS));
    expect(performance.now() - started).toBeLessThan(500);
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.message).toContain('image is 30000x30000 (900.0 MP); the limit is 40.0 MP');
  });

  it('answers INVALID_ARGUMENT for empty uploads and text named .png', async () => {
    const empty = await failure(inspectImage(Buffer.alloc(0), MAX_PIXELS));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.message).toMatch(/empty \(0 bytes\)/);
    const text = await failure(inspectImage(TEXT_NAMED_PNG, MAX_PIXELS));
    expect(text.code).toBe(status.INVALID_ARGUMENT);
    expect(text.message).toMatch(/not an image .*starts with text "These are my/);
  });
});

describe('decodeImage', () => {
  it('answers INVALID_ARGUMENT for a truncated JPEG', async () => {
    const cut = truncate(await photoJpeg(320, 240), 0.5);
    await expect(inspectImage(cut, MAX_PIXELS)).resolves.toMatchObject({ width: 320, height: 240 });
    const error = await failure(decodeImage(cut, { maxPixels: MAX_PIXELS, maxDimension: 0 }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.message).toMatch(/truncated or corrupt/);
  });

  it('turns the photo upright from its EXIF orientation', async () => {
    // Stored 40x20 with orientation 6 (rotate 90 degrees clockwise to view): upright is 20x40.
    const stored = await sharp(await photoJpeg(40, 20))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const decoded = await decodeImage(stored, { maxPixels: MAX_PIXELS, maxDimension: 0 });
    expect([decoded.width, decoded.height]).toEqual([20, 40]);
  });

  it('flattens transparency onto white and always yields 3 channels', async () => {
    const transparent = await sharp({
      create: { width: 8, height: 8, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const decoded = await decodeImage(transparent, { maxPixels: MAX_PIXELS, maxDimension: 0 });
    expect(decoded.pixels.length).toBe(8 * 8 * 3);
    expect([...decoded.pixels.subarray(0, 3)]).toEqual([255, 255, 255]);
    const grey = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await decodeImage(grey, { maxPixels: MAX_PIXELS, maxDimension: 0 })).pixels.length).toBe(4 * 4 * 3);
  });

  it('applies the size cap to the longest side, keeping the aspect ratio', async () => {
    const decoded = await decodeImage(await photoJpeg(400, 200), { maxPixels: MAX_PIXELS, maxDimension: 100 });
    expect([decoded.width, decoded.height]).toEqual([100, 50]);
  });
});

describe('encodeImage', () => {
  it('encodes JPEG, PNG and WebP that decode back to the same size', async () => {
    const pixels = (await decodeImage(await photoJpeg(64, 48), { maxPixels: MAX_PIXELS, maxDimension: 0 })).pixels;
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const bytes = await encodeImage(pixels, 64, 48, format, 80);
      const meta = await sharp(bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([format, 64, 48]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { reinhardTransfer, type RgbImage } from './colour-transfer';

function solid(width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(rgb(x, y), (y * width + x) * 3);
  return { data, width, height };
}

function meanRgb(img: RgbImage): number[] {
  const m = [0, 0, 0];
  for (let i = 0; i < img.data.length; i += 3) for (let c = 0; c < 3; c++) m[c]! += img.data[i + c]!;
  return m.map((v) => v / (img.data.length / 3));
}

describe('reinhardTransfer', () => {
  it('moves a grey gradient towards the mean colour of a red-orange style image', () => {
    const photo = solid(16, 16, (x) => [0.2 + x / 40, 0.2 + x / 40, 0.2 + x / 40]);
    const style = solid(16, 16, (x, y) => [0.8, 0.3 + x / 100, 0.1 + y / 100]);
    const out = reinhardTransfer(photo, style);
    const [r, g, b] = meanRgb(out);
    const [sr, sg, sb] = meanRgb(style);
    expect(r!).toBeGreaterThan(g!);
    expect(g!).toBeGreaterThan(b!);
    expect(Math.abs(r! - sr!)).toBeLessThan(0.1);
    expect(Math.abs(g! - sg!)).toBeLessThan(0.1);
    expect(Math.abs(b! - sb!)).toBeLessThan(0.1);
  });

  it('keeps the photo when style and photo are the same image', () => {
    const photo = solid(8, 8, (x, y) => [0.1 + x / 10, 0.2 + y / 12, 0.5]);
    const out = reinhardTransfer(photo, photo);
    // The published conversion matrices are rounded to 4 digits, so the round trip is close, not exact.
    for (let i = 0; i < photo.data.length; i++) expect(Math.abs(out.data[i]! - photo.data[i]!)).toBeLessThan(0.02);
  });
});

/**
 * Reinhard et al. (2001) "Color Transfer between Images": match the per-channel mean and
 * standard deviation of the photo to the style image in the decorrelated lαβ space. This is
 * the "plain colour transfer" baseline that a style network must beat. Hand-written: it is a
 * few matrix products, and no maintained npm package implements this baseline.
 */

/** Interleaved RGB pixels in [0, 1]. */
export interface RgbImage {
  data: Float32Array;
  width: number;
  height: number;
}

const EPS = 1e-4;

// RGB -> LMS (Reinhard 2001, eq. 4), then log10, then lαβ (eq. 6).
function toLab(r: number, g: number, b: number, out: Float64Array, i: number): void {
  const l = Math.log10(Math.max(EPS, 0.3811 * r + 0.5783 * g + 0.0402 * b));
  const m = Math.log10(Math.max(EPS, 0.1967 * r + 0.7244 * g + 0.0782 * b));
  const s = Math.log10(Math.max(EPS, 0.0241 * r + 0.1288 * g + 0.8444 * b));
  out[i] = (l + m + s) / Math.sqrt(3);
  out[i + 1] = (l + m - 2 * s) / Math.sqrt(6);
  out[i + 2] = (l - m) / Math.SQRT2;
}

function labToRgb(L: number, a: number, b: number, out: Float32Array, i: number): void {
  const x = L / Math.sqrt(3);
  const y = a / Math.sqrt(6);
  const z = b / Math.SQRT2;
  const l = 10 ** (x + y + z);
  const m = 10 ** (x + y - z);
  const s = 10 ** (x - 2 * y);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  out[i] = clamp(4.4679 * l - 3.5873 * m + 0.1193 * s);
  out[i + 1] = clamp(-1.2186 * l + 2.3809 * m - 0.1624 * s);
  out[i + 2] = clamp(0.0497 * l - 0.2439 * m + 1.2045 * s);
}

function labOf(image: RgbImage): Float64Array {
  const lab = new Float64Array(image.data.length);
  for (let i = 0; i < image.data.length; i += 3) toLab(image.data[i]!, image.data[i + 1]!, image.data[i + 2]!, lab, i);
  return lab;
}

function stats(lab: Float64Array): { mean: number[]; std: number[] } {
  const n = lab.length / 3;
  const mean = [0, 0, 0];
  const sq = [0, 0, 0];
  for (let i = 0; i < lab.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      mean[c]! += lab[i + c]!;
      sq[c]! += lab[i + c]! ** 2;
    }
  }
  const m = mean.map((v) => v / n);
  return { mean: m, std: sq.map((v, c) => Math.sqrt(Math.max(0, v / n - m[c]! ** 2))) };
}

export function reinhardTransfer(photo: RgbImage, style: RgbImage): RgbImage {
  const src = labOf(photo);
  const s = stats(src);
  const t = stats(labOf(style));
  const out = new Float32Array(photo.data.length);
  for (let i = 0; i < src.length; i += 3) {
    const v = [0, 1, 2].map((c) => ((src[i + c]! - s.mean[c]!) * t.std[c]!) / Math.max(s.std[c]!, EPS) + t.mean[c]!);
    labToRgb(v[0]!, v[1]!, v[2]!, out, i);
  }
  return { data: out, width: photo.width, height: photo.height };
}

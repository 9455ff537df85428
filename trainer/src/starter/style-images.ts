/**
 * Style images the project paints itself, so the starter set does not depend on artwork with
 * licence questions. Each is deterministic for a seed: rerunning reproduces the same file.
 * Only one real painting ships (Elephants, GPL-2+, from Debian's mate-backgrounds).
 */
import seedrandom from 'seedrandom';
import sharp from 'sharp';

export interface StyleImageSpec {
  width: number;
  height: number;
  seed: string;
}

const DEFAULT_SPEC: StyleImageSpec = { width: 1024, height: 768, seed: 'nst-starter' };

type Rgb = [number, number, number];

function hexToRgb(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length) % items.length] as T;
}

/** Stained glass: jewel-toned Voronoi cells, each lit from within, separated by dark lead. */
export async function renderMosaic(spec: Partial<StyleImageSpec> = {}): Promise<Buffer> {
  const { width, height, seed } = { ...DEFAULT_SPEC, ...spec };
  const rng = seedrandom(`${seed}/mosaic`);
  const palette = ['#b3122e', '#1f4fb5', '#138a55', '#e3a21a', '#6b2fa3', '#d9541e', '#2aa3b8', '#f2d64b'].map(hexToRgb);
  const cell = 56; // grid pitch of the jittered seeds, in pixels
  const cols = Math.ceil(width / cell) + 2;
  const rows = Math.ceil(height / cell) + 2;
  const seeds: { x: number; y: number; colour: Rgb }[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      seeds.push({ x: (c - 1 + rng()) * cell, y: (r - 1 + rng()) * cell, colour: pick(rng, palette) });
    }
  }
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const gc = Math.floor(x / cell) + 1;
      const gr = Math.floor(y / cell) + 1;
      let d1 = Infinity;
      let d2 = Infinity;
      let nearest = seeds[0]!;
      for (let dr = -2; dr <= 2; dr++) {
        for (let dc = -2; dc <= 2; dc++) {
          const s = seeds[(gr + dr) * cols + (gc + dc)];
          if (!s) continue;
          const d = Math.hypot(s.x - x, s.y - y);
          if (d < d1) {
            d2 = d1;
            d1 = d;
            nearest = s;
          } else if (d < d2) {
            d2 = d;
          }
        }
      }
      const lead = d2 - d1 < 3.2;
      // Light falls off from each cell's centre, like glass lit from behind.
      const glow = 1.15 - Math.min(d1 / (cell * 0.9), 1) * 0.45;
      const i = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        out[i + k] = lead ? 22 : Math.max(0, Math.min(255, nearest.colour[k]! * glow));
      }
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

/** A smooth vector field: the sum of a few vortices, so strokes curl like a night sky. */
function swirlAngle(vortices: { x: number; y: number; s: number }[], x: number, y: number): number {
  let vx = 0.35;
  let vy = 0.08;
  for (const v of vortices) {
    const dx = x - v.x;
    const dy = y - v.y;
    const r2 = dx * dx + dy * dy + 900;
    vx += (-dy * v.s * 4000) / r2;
    vy += (dx * v.s * 4000) / r2;
  }
  return Math.atan2(vy, vx);
}

/** Swirling impasto: short curved strokes of blues and yellows following vortices. */
export async function renderSwirl(spec: Partial<StyleImageSpec> = {}): Promise<Buffer> {
  const { width, height, seed } = { ...DEFAULT_SPEC, ...spec };
  const rng = seedrandom(`${seed}/swirl`);
  const vortices = Array.from({ length: 7 }, () => ({
    x: rng() * width,
    y: rng() * height,
    s: (rng() < 0.5 ? -1 : 1) * (0.01 + rng() * 0.012),
  }));
  const blues = ['#0b1e4f', '#123a8c', '#1f5fbf', '#3f86d9', '#7fb2e6'];
  const warm = ['#f4d23c', '#f7e27a', '#e8a317', '#fbf3c8'];
  const paths: string[] = [];
  const strokes = Math.round((width * height) / 90);
  for (let n = 0; n < strokes; n++) {
    let x = rng() * width;
    let y = rng() * height;
    const bright = Math.hypot(x - vortices[0]!.x, y - vortices[0]!.y) < 0.18 * Math.min(width, height) || rng() < 0.12;
    const colour = bright ? pick(rng, warm) : pick(rng, blues);
    const steps = 6 + Math.floor(rng() * 10);
    const pts = [`${x.toFixed(1)},${y.toFixed(1)}`];
    for (let s = 0; s < steps; s++) {
      const a = swirlAngle(vortices, x, y);
      x += Math.cos(a) * 4;
      y += Math.sin(a) * 4;
      pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
    }
    const w = (2.5 + rng() * 4.5).toFixed(1);
    paths.push(`<polyline points="${pts.join(' ')}" stroke="${colour}" stroke-width="${w}" stroke-linecap="round" fill="none" opacity="0.92"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#0d1a3a"/>${paths.join('')}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

/** Pen-and-ink: sepia cross-hatching on cream paper, denser where a smooth tone field is darker. */
export async function renderHatch(spec: Partial<StyleImageSpec> = {}): Promise<Buffer> {
  const { width, height, seed } = { ...DEFAULT_SPEC, ...spec };
  const rng = seedrandom(`${seed}/hatch`);
  const blobs = Array.from({ length: 10 }, () => ({ x: rng() * width, y: rng() * height, r: 50 + rng() * 140, a: 0.35 + rng() * 0.5 }));
  const tone = (x: number, y: number): number => {
    let t = 0;
    for (const b of blobs) t += b.a * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r));
    return Math.min(1, t);
  };
  // Each layer adds a hatching direction below a darkness threshold, as an illustrator would.
  const layers = [
    { angle: Math.PI / 4, threshold: 0.15 },
    { angle: -Math.PI / 4, threshold: 0.4 },
    { angle: 0, threshold: 0.65 },
    { angle: Math.PI / 2, threshold: 0.85 },
  ];
  const spacing = 10;
  const lines: string[] = [];
  const diag = Math.hypot(width, height);
  for (const layer of layers) {
    const dx = Math.cos(layer.angle);
    const dy = Math.sin(layer.angle);
    for (let o = -diag / 2; o < diag / 2; o += spacing) {
      let run: string[] = [];
      const flush = () => {
        if (run.length > 1) lines.push(`<polyline points="${run.join(' ')}"/>`);
        run = [];
      };
      for (let t = -diag / 2; t < diag / 2; t += 6) {
        const x = width / 2 + dx * t - dy * o + (rng() - 0.5) * 1.2;
        const y = height / 2 + dy * t + dx * o + (rng() - 0.5) * 1.2;
        if (x < -10 || y < -10 || x > width + 10 || y > height + 10) {
          flush();
          continue;
        }
        if (tone(x, y) > layer.threshold) run.push(`${x.toFixed(1)},${y.toFixed(1)}`);
        else flush();
      }
      flush();
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f3e9d2"/><g stroke="#3b2412" stroke-width="1.6" fill="none" stroke-linecap="round" opacity="0.9">${lines.join('')}</g></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

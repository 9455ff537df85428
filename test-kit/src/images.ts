/** Real and deliberately broken images for the tests: photos, a painting, training photos, bombs. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A photo-like JPEG: smooth gradients plus detail, so stylization has something to paint. */
export async function photoJpeg(width: number, height: number, quality = 90): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = Math.round(127 + 120 * Math.sin(x / 37) * Math.cos(y / 53));
      pixels[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      pixels[i + 2] = Math.round((255 * x) / Math.max(1, width - 1)) ^ ((x >> 4) & 1 ? 40 : 0);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a PNG of a few hundred bytes whose header declares `side` x `side`
 * RGB pixels (30000 x 30000 = 900 MP, 2.7 GB decoded). Its IDAT holds the first rows only.
 */
export function bombPng(side = 30000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc((side * 3 + 1) * 4))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first `fraction` of a valid JPEG: a download or upload cut short. */
export function truncate(bytes: Buffer, fraction = 0.5): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length * fraction));
}

/** A text file someone named photo.png. */
export const TEXT_NAMED_PNG = Buffer.from('These are my holiday notes, not a picture.\n'.repeat(20));

/**
 * A small painting to train on (a JPEG about 160 x 120): curved strokes of blues and yellows
 * over a dark ground, the same on every call, so a style has texture and colour to learn.
 */
export async function painting(width = 160, height = 120): Promise<Buffer> {
  // A fixed linear congruential sequence: deterministic strokes without a dependency.
  let state = 20_240_611;
  const next = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const colours = ['#123a8c', '#1f5fbf', '#3f86d9', '#7fb2e6', '#f4d23c', '#e8a317'];
  const strokes: string[] = [];
  for (let n = 0; n < 140; n++) {
    const x = next() * width;
    const y = next() * height;
    const r = 6 + next() * 18;
    const turn = next() < 0.5 ? 0 : 1;
    const colour = colours[Math.floor(next() * colours.length)];
    strokes.push(
      `<path d="M${x.toFixed(1)},${y.toFixed(1)} a${r.toFixed(1)},${(r * 0.7).toFixed(1)} 0 0 ${turn} ${(r * 1.6).toFixed(1)},${(r * 0.4).toFixed(1)}" ` +
        `stroke="${colour}" stroke-width="${(2 + next() * 3).toFixed(1)}" stroke-linecap="round" fill="none" opacity="0.9"/>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#0d1a3a"/>${strokes.join('')}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

/** `count` photos of varied colour and structure (gradients with shapes) in `dir`, small so decoding is cheap. */
export async function writeTrainingPhotos(dir: string, count = 3): Promise<void> {
  await mkdir(dir, { recursive: true });
  const palettes = [
    ['#2b5876', '#4e4376', '#f9d423'],
    ['#134e5e', '#71b280', '#e65c00'],
    ['#ff512f', '#dd2476', '#1fa2ff'],
    ['#56ab2f', '#a8e063', '#283c86'],
  ];
  for (let i = 0; i < count; i++) {
    const [a, b, c] = palettes[i % palettes.length]!;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="72">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></linearGradient></defs>
      <rect width="96" height="72" fill="url(#g)"/><circle cx="${30 + i * 12}" cy="36" r="${14 + i * 3}" fill="${c}"/>
      <rect x="${60 - i * 9}" y="10" width="18" height="40" fill="${b}" opacity="0.7"/></svg>`;
    await writeFile(path.join(dir, `photo-${i}.png`), await sharp(Buffer.from(svg)).png().toBuffer());
  }
}

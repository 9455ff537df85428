import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listImageFiles, PhotoSource, Rng } from './photos.js';

let root: string;

async function gradientImage(width: number, height: number, hue: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = hue;
    }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nst-photos-'));
  await mkdir(path.join(root, 'nested', 'deeper'), { recursive: true });
  await writeFile(path.join(root, 'a.png'), await gradientImage(40, 30, 10));
  await sharp(await gradientImage(30, 50, 200)).jpeg().toFile(path.join(root, 'nested', 'b.JPG'));
  await sharp(await gradientImage(64, 64, 90)).webp().toFile(path.join(root, 'nested', 'deeper', 'c.webp'));
  await writeFile(path.join(root, 'notes.txt'), 'not an image');
  await symlink(path.join(root, 'a.png'), path.join(root, 'nested', 'link.png'));
  await symlink(path.join(root, 'missing.png'), path.join(root, 'nested', 'dangling.png'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('PhotoSource', () => {
  it('finds jpg/png/webp recursively, sorted, following links, ignoring other and dangling files', async () => {
    const files = (await listImageFiles(root)).map((f) => path.relative(root, f));
    expect(files).toEqual(['a.png', path.join('nested', 'b.JPG'), path.join('nested', 'deeper', 'c.webp'), path.join('nested', 'link.png')]);
  });

  it('serves the same batches for the same RNG state, and different ones otherwise', async () => {
    const source = await PhotoSource.open(root, { imageSize: 16 });
    const first = await source.batch(new Rng(5), 3);
    const again = await source.batch(new Rng(5), 3);
    const other = await source.batch(new Rng(6), 3);
    expect(first.pixels.length).toBe(3 * 16 * 16 * 3);
    expect(Array.from(again.pixels)).toEqual(Array.from(first.pixels));
    expect(Array.from(other.pixels)).not.toEqual(Array.from(first.pixels));
    expect(Math.max(...first.pixels)).toBeLessThanOrEqual(1);
    expect(Math.min(...first.pixels)).toBeGreaterThanOrEqual(0);
  });

  it('continues a sequence from a saved RNG state', async () => {
    const source = await PhotoSource.open(root, { imageSize: 8 });
    const rng = new Rng(11);
    await source.batch(rng, 2);
    const saved = rng.state;
    const next = await source.batch(rng, 2);
    const resumed = await source.batch(new Rng(saved), 2);
    expect(Array.from(resumed.pixels)).toEqual(Array.from(next.pixels));
  });

  it('hashes the dataset independently of file order and content-sensitively', async () => {
    const source = await PhotoSource.open(root, { imageSize: 8 });
    expect(source.datasetHash).toMatch(/^[0-9a-f]{64}$/);
    const same = await PhotoSource.open(root, { imageSize: 32 });
    expect(same.datasetHash).toBe(source.datasetHash);
    await writeFile(path.join(root, 'a.png'), await gradientImage(40, 30, 11));
    const changed = await PhotoSource.open(root, { imageSize: 8 });
    expect(changed.datasetHash).not.toBe(source.datasetHash);
  });
});

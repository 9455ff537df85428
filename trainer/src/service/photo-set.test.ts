import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { GALLERY_PHOTOS, TRAINING_PHOTOS } from '../starter/catalogue';
import { SHIPPED_PHOTO_SHORT_SIDE, shippedName, type ShippedPhotoAttribution } from '../starter/training-photos';
import { regularPhotos } from './photo-set';

describe('regular training photos', () => {
  it('default to the shipped photos, so a fresh machine trains without Debian packages: over 100 of them, the wallpapers and GCompris', async () => {
    const names = (await regularPhotos(undefined)).map((p) => basename(p));
    expect(names).toEqual(expect.arrayContaining(TRAINING_PHOTOS.map(shippedName)));
    expect(new Set(names).size).toBeGreaterThanOrEqual(100);
    // Animals, buildings and landscapes: every activity the GCompris photos come from is there.
    for (const activity of ['erase-', 'explore-monuments-', 'explore-world-animals-', 'explore-farm-animals-']) {
      expect(names.filter((n) => n.startsWith(activity)).length).toBeGreaterThan(0);
    }
  });

  it('ship each photo downscaled, with its author, licence and source beside it', async () => {
    for (const file of await regularPhotos(undefined)) {
      const { width, height } = await sharp(file).metadata();
      expect(Math.min(width, height)).toBeLessThanOrEqual(SHIPPED_PHOTO_SHORT_SIDE);
      const attribution = JSON.parse(await readFile(file.replace(/\.jpg$/, '.json'), 'utf8')) as ShippedPhotoAttribution;
      expect(attribution.file).toBe(basename(file));
      expect(attribution.credit).not.toBe('');
      expect(attribution.licence).toMatch(/^(GPL-2\+|CC-BY(-SA)?-[234]\.0|CC0-1\.0|public-domain)$/);
      expect(attribution.originalSha256).toMatch(/^[0-9a-f]{64}$/);
      if (attribution.debianPackage === 'gcompris-qt-data') expect(attribution.source).toMatch(/^https:\/\//);
    }
  });

  it('never include a held-out gallery photo', async () => {
    const shipped = new Set((await regularPhotos(undefined)).map((p) => basename(p)));
    for (const photo of GALLERY_PHOTOS) expect(shipped.has(shippedName(photo))).toBe(false);
  });

  it('are a folder of ones own when NST_PHOTOS_DIR is set, with a sentence when it is missing', async () => {
    await expect(regularPhotos('/nonexistent/photos')).rejects.toThrow(/NST_PHOTOS_DIR \/nonexistent\/photos does not exist/);
  });
});

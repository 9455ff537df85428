/**
 * The training photos the trainer ships (trainer/photos): the catalogue's TRAINING_PHOTOS from
 * Debian's wallpaper packages and the credited photographs of gcompris-qt-data (gcompris.ts),
 * downscaled once, each with a JSON file naming its author, licence and source. Shipping them means a fresh `npm ci && npm start` can train a style with
 * no system packages; NST_PHOTOS_DIR still replaces them with a folder of one's own.
 *
 *   bash scripts/install-system-deps.sh training
 *   node --import tsx trainer/src/starter/training-photos.ts      # rebuilds trainer/photos
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sha256 } from '../train/photos';
import { PHOTO_PACKAGES, TRAINING_PHOTOS, type Photo } from './catalogue';
import { GCOMPRIS_PACKAGE, gcomprisPhotos } from './gcompris';


export const SHIPPED_PHOTOS_DIR = fileURLToPath(new URL('../../photos', import.meta.url));

/**
 * Shorter side of a shipped photo. Training crops are at most the photo's shorter side,
 * taken at 1.5x the crop size (train/photos.ts), so 384 px serves recipes up to 256 px crops
 * while the whole set stays about 1.5 MB.
 */
export const SHIPPED_PHOTO_SHORT_SIDE = 384;

/** What the JSON file beside each shipped photo records. */
export interface ShippedPhotoAttribution {
  file: string;
  credit: string;
  licence: string;
  debianPackage: string;
  originalPath: string;
  originalSha256: string;
  /** Where the photograph was published, when its credit names it (Wikimedia Commons). */
  source?: string;
  note: string;
}

/** One photo to ship: its bytes and where they came from. */
interface PhotoSource {
  file: string;
  original: Buffer;
  credit: string;
  licence: string;
  debianPackage: string;
  originalPath: string;
  source?: string;
}

export const shippedName = (photo: Photo): string => `${basename(photo.path, extname(photo.path))}.jpg`;

async function wallpaperPhotos(): Promise<PhotoSource[]> {
  return Promise.all(
    TRAINING_PHOTOS.map(async (photo) => {
      try {
        const original = await readFile(photo.path);
        return { file: shippedName(photo), original, credit: photo.credit, licence: photo.licence, debianPackage: photo.debianPackage, originalPath: photo.path };
      } catch {
        throw new Error(`training photo ${photo.path} is missing: install Debian packages ${PHOTO_PACKAGES.join(' ')} (scripts/install-system-deps.sh training)`);
      }
    }),
  );
}

async function bundledPhotos(): Promise<PhotoSource[]> {
  return (await gcomprisPhotos()).map((photo) => ({
    file: `${photo.name}.jpg`,
    original: photo.bytes,
    credit: photo.credit.copyright,
    licence: photo.credit.licence,
    debianPackage: GCOMPRIS_PACKAGE,
    originalPath: photo.origin,
    ...(photo.credit.source ? { source: photo.credit.source } : {}),
  }));
}

export async function buildShippedPhotos(out = SHIPPED_PHOTOS_DIR): Promise<number> {
  const photos = [...(await wallpaperPhotos()), ...(await bundledPhotos())];
  const names = new Set(photos.map((p) => p.file));
  if (names.size !== photos.length) throw new Error('two training photos would ship under the same name');
  await mkdir(out, { recursive: true });
  // Rebuilt from the sources alone: a photo dropped from them leaves no stale copy behind.
  for (const entry of await readdir(out)) if (entry !== 'README.md') await rm(join(out, entry));
  for (const photo of photos) {
    await sharp(photo.original)
      .rotate()
      .resize(SHIPPED_PHOTO_SHORT_SIDE, SHIPPED_PHOTO_SHORT_SIDE, { fit: 'outside', withoutEnlargement: true })
      .jpeg({ quality: 90, mozjpeg: true })
      .toFile(join(out, photo.file));
    const attribution: ShippedPhotoAttribution = {
      file: photo.file,
      credit: photo.credit,
      licence: photo.licence,
      debianPackage: photo.debianPackage,
      originalPath: photo.originalPath,
      originalSha256: sha256(photo.original),
      ...(photo.source ? { source: photo.source } : {}),
      note: `Downscaled to a shorter side of ${SHIPPED_PHOTO_SHORT_SIDE} px; licence terms as in /usr/share/doc/${photo.debianPackage}/copyright.`,
    };
    await writeFile(join(out, `${basename(photo.file, '.jpg')}.json`), `${JSON.stringify(attribution, null, 2)}\n`);
  }
  return photos.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const count = await buildShippedPhotos();
  console.log(`wrote ${count} photos to ${SHIPPED_PHOTOS_DIR}`);
}

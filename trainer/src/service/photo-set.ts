/**
 * The photos a job trains on: the regular set (NST_PHOTOS_DIR, else the training photos the
 * trainer ships in trainer/photos) plus, for fine-tunes, the photos people
 * rated bad and consented to keep. The set is frozen into the job's folder when the job first
 * starts (hard links, or copies across file systems) so a resumed job draws the same batches
 * even if the sources change or kept photos expire meanwhile.
 */
import { copyFile, link, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { SHIPPED_PHOTOS_DIR } from '../starter/training-photos';
import { listImageFiles } from '../train/photos';

export const NO_PHOTOS_MESSAGE =
  'no training photos: set NST_PHOTOS_DIR to a folder of photographs (jpg, png or webp), or leave it unset to ' +
  `train on the photos that ship in ${SHIPPED_PHOTOS_DIR}`;

/** The regular training photos: every image under `photosDir`, or the shipped training photos. */
export async function regularPhotos(photosDir: string | undefined): Promise<string[]> {
  if (!photosDir) {
    const shipped = await listImageFiles(SHIPPED_PHOTOS_DIR).catch(() => []);
    if (shipped.length === 0) throw new Error(`${SHIPPED_PHOTOS_DIR} holds no photos; ${NO_PHOTOS_MESSAGE}`);
    return shipped;
  }
  let files: string[];
  try {
    files = await listImageFiles(photosDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`NST_PHOTOS_DIR ${photosDir} does not exist; ${NO_PHOTOS_MESSAGE}`);
    throw error;
  }
  if (files.length === 0) throw new Error(`NST_PHOTOS_DIR ${photosDir} holds no jpg, png or webp images; ${NO_PHOTOS_MESSAGE}`);
  return files;
}

/**
 * Links `sources` into `dir` (emptied first) under numbered names, so same-named photos from
 * different folders cannot collide. Returns the folder.
 */
export async function freezePhotoSet(dir: string, sources: string[]): Promise<string> {
  // Built aside and renamed into place: an interrupted freeze never looks like a whole set.
  const building = `${dir}.building`;
  await rm(building, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  let index = 0;
  for (const source of sources) {
    const target = path.join(building, `${String(index).padStart(4, '0')}-${path.basename(source)}`);
    index += 1;
    try {
      await link(source, target);
    } catch {
      // Across file systems (or where links are not allowed) a copy does the same job.
      await copyFile(source, target);
    }
  }
  await rename(building, dir);
  return dir;
}

/** Whether a frozen set from an earlier attempt is there to reuse. */
export async function hasFrozenPhotoSet(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

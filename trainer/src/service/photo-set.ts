/**
 * The photos a job trains on: the regular set (NST_PHOTOS_DIR, else the project's starter
 * training photos from Debian's wallpaper packages) plus, for fine-tunes, the photos people
 * rated bad and consented to keep. The set is frozen into the job's folder when the job first
 * starts (hard links, or copies across file systems) so a resumed job draws the same batches
 * even if the sources change or kept photos expire meanwhile.
 */
import { constants } from 'node:fs';
import { access, copyFile, link, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TRAINING_PHOTOS } from '../starter/catalogue';
import { listImageFiles } from '../train/photos';

export const NO_PHOTOS_MESSAGE =
  'no training photos: set NST_PHOTOS_DIR to a folder of photographs (jpg, png or webp), or install the ' +
  "starter photos with 'bash scripts/install-system-deps.sh training' (Debian's mate-backgrounds and lomiri-wallpapers)";

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The regular training photos: every image under `photosDir`, or the starter photos present. */
export async function regularPhotos(photosDir: string | undefined): Promise<string[]> {
  if (photosDir) {
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
  const present: string[] = [];
  for (const photo of TRAINING_PHOTOS) if (await exists(photo.path)) present.push(photo.path);
  if (present.length === 0) throw new Error(NO_PHOTOS_MESSAGE);
  return present;
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

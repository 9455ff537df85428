/**
 * The kept photos TrainerService owns: input photos people consented to keep with a rating,
 * sent by StyleService (KeepPhoto) and read back by fine-tunes through the rating's photo
 * reference. Each is written durably (fsync'd temporary file, then renamed into place) under
 * its rating's id, so a retried call keeps one file, and deleted after the feedback retention.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { FEEDBACK_ID_PATTERN, fsyncDir } from '@nst/runtime';
import { z } from 'zod';

export const KeepPhotoSchema = z.object({
  feedbackId: z.string().regex(FEEDBACK_ID_PATTERN, "use the rating's feedback id: up to 128 letters, digits, '.', '_' or '-'"),
  style: z.string().min(1, 'name the style that painted the photo'),
  version: z.string().min(1, 'name the version that painted the photo'),
  // The decoder's format name ("jpeg", "png", ...) becomes the extension: no path characters.
  format: z.string().regex(/^[a-z0-9]{1,10}$/, 'use the image format as sharp names it, for example "jpeg" or "png"'),
  photo: z.instanceof(Uint8Array).refine((bytes) => bytes.length > 0, 'the photo is empty'),
});
export type KeepPhoto = z.infer<typeof KeepPhotoSchema>;

export interface KeptPhotoStoreOptions {
  /** NST_KEPT_PHOTOS_DIR of TrainerService (created on demand). */
  dir: string;
  /** How long a kept photo stays, in ms (NST_FEEDBACK_RETENTION_DAYS). */
  retentionMs: number;
  now?: () => number;
}

export class KeptPhotoStore {
  private readonly now: () => number;

  constructor(private readonly options: KeptPhotoStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Writes the photo and returns its reference: the file name inside the folder. */
  async keep(photo: KeepPhoto): Promise<string> {
    await mkdir(this.options.dir, { recursive: true });
    const name = `${photo.feedbackId}.${photo.format}`;
    const temp = path.join(this.options.dir, `.${name}.${randomUUID()}.tmp`);
    const file = await open(temp, 'w');
    try {
      await file.writeFile(photo.photo);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path.join(this.options.dir, name));
    await fsyncDir(this.options.dir);
    return name;
  }

  /** Deletes kept photos older than the retention; returns how many were deleted. */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    const cutoff = this.now() - this.options.retentionMs;
    let deleted = 0;
    for (const name of names) {
      const file = path.join(this.options.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) {
        await rm(file, { force: true });
        deleted++;
      }
    }
    return deleted;
  }
}

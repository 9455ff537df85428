/**
 * The kept photos TrainerService owns: input photos people consented to keep with a rating,
 * sent by StyleService (KeepPhoto) and read back by fine-tunes through the rating's photo
 * reference. Each is written durably under its rating's id (runtime's KeptPhotoFolder), so a
 * retried call keeps one file, and deleted after the feedback retention.
 */
import { FEEDBACK_ID_PATTERN, KeptPhotoFolder, type KeptPhotoFolderOptions } from '@nst/runtime';
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

export type KeptPhotoStoreOptions = KeptPhotoFolderOptions;

/** TrainerService's kept photos, named by the rating's feedback id and the image format. */
export class KeptPhotoStore extends KeptPhotoFolder {
  /** Writes the photo and returns its reference: the file name inside the folder. */
  keep(photo: KeepPhoto): Promise<string> {
    return this.write(`${photo.feedbackId}.${photo.format}`, photo.photo);
  }
}

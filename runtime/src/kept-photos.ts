/**
 * A folder of photos people consented to keep with a rating (TrainerService's, or StyleService's
 * own when it serves from a registry folder in tests): each written durably (fsync'd temporary
 * file, then renamed into place, the folder fsync'd) under a name the caller chooses, so a
 * retried write keeps one file, and deleted once older than the feedback retention.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fsyncDir } from './durable-fs';

export interface KeptPhotoFolderOptions {
  /** The folder (created on demand). */
  dir: string;
  /** How long a kept photo stays, in ms (NST_FEEDBACK_RETENTION_DAYS). */
  retentionMs: number;
  now?: () => number;
}

export class KeptPhotoFolder {
  private readonly now: () => number;

  constructor(private readonly options: KeptPhotoFolderOptions) {
    this.now = options.now ?? Date.now;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Writes `bytes` as `<dir>/<name>` and returns the reference: the file name (so the data folder can move). */
  async write(name: string, bytes: Uint8Array): Promise<string> {
    await mkdir(this.options.dir, { recursive: true });
    const temp = join(this.options.dir, `.${name}.${randomUUID()}.tmp`);
    const file = await open(temp, 'w');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, join(this.options.dir, name));
    await fsyncDir(this.options.dir);
    return name;
  }

  /** Where a reference returned by `write` lies. */
  pathOf(ref: string): string {
    return join(this.options.dir, basename(ref));
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
      const file = join(this.options.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) {
        await rm(file, { force: true });
        deleted++;
      }
    }
    return deleted;
  }
}

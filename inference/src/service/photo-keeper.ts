/**
 * Input photos, kept only with consent. Every upload is held in memory for a short while
 * (bounded by bytes and age) under its request id, so that feedback arriving later with the
 * consent flag can keep it; nothing reaches the disk without that consent. With a sink, kept
 * photos go to TrainerService (KeepPhoto), which stores them and applies the retention; without
 * one they are written durably to a local folder and deleted once older than the retention.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface HeldPhoto {
  bytes: Uint8Array;
  /** Image format from the upload's header ("jpeg", "png", ...), used as the file extension. */
  format: string;
  style: string;
  version: string;
  heldAt: number;
}

/** Where kept photos go instead of a local folder: TrainerService's KeepPhoto (trainer-catalog.ts). */
export interface KeptPhotoSink {
  /** Stores the photo durably; resolves with the reference the rating records. */
  keepPhoto(photo: { feedbackId: string; style: string; version: string; format: string; bytes: Uint8Array }): Promise<string>;
}

export interface PhotoKeeperOptions {
  /** Folder for kept photos (created on demand); unused with a sink. */
  dir: string;
  /** Sends kept photos here instead of writing them to `dir`. */
  sink?: KeptPhotoSink;
  /**
   * Told when the sink fails; the rating is then recorded without its photo (photo_kept false)
   * rather than lost, since ratings drive the release analysis.
   */
  onSinkError?: (error: unknown, requestId: string) => void;
  /** Most bytes of recent uploads held in memory; the oldest go first. */
  holdBytes: number;
  /** How long an upload stays available for consented feedback, in ms. */
  holdMs: number;
  /** How long a kept photo stays on disk, in ms. */
  retentionMs: number;
  now?: () => number;
}

export class PhotoKeeper {
  private readonly held = new Map<string, HeldPhoto>();
  private heldBytes = 0;
  private readonly now: () => number;

  constructor(private readonly options: PhotoKeeperOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Holds an upload in memory under its request id. Too-large uploads are simply not held. */
  hold(requestId: string, photo: Omit<HeldPhoto, 'heldAt'>): void {
    if (photo.bytes.length > this.options.holdBytes) return;
    this.held.set(requestId, { ...photo, heldAt: this.now() });
    this.heldBytes += photo.bytes.length;
    this.expire();
  }

  /** The held upload of a request, if it is still held. */
  get(requestId: string): HeldPhoto | undefined {
    this.expire();
    return this.held.get(requestId);
  }

  /**
   * Writes the held upload of `requestId` to disk as `<dir>/<name>.<format>` (fsync'd, then
   * renamed into place) and returns its reference: the file name, relative to the keeper's
   * folder (so the data folder can move); undefined when the upload is no longer held.
   */
  async keep(requestId: string, name: string): Promise<string | undefined> {
    const photo = this.get(requestId);
    if (!photo) return undefined;
    if (this.options.sink) {
      try {
        return await this.options.sink.keepPhoto({ feedbackId: name, style: photo.style, version: photo.version, format: photo.format, bytes: photo.bytes });
      } catch (error) {
        this.options.onSinkError?.(error, requestId);
        return undefined;
      }
    }
    await mkdir(this.options.dir, { recursive: true });
    const path = join(this.options.dir, `${name}.${photo.format}`);
    const temp = join(this.options.dir, `.${name}.${randomUUID()}.tmp`);
    const file = await open(temp, 'w');
    try {
      await file.writeFile(photo.bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    const dir = await open(this.options.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return basename(path);
  }

  /** Where a reference returned by `keep` lies. */
  pathOf(ref: string): string {
    return join(this.options.dir, basename(ref));
  }

  /** Deletes kept photos older than the retention limit; returns how many were deleted. */
  async sweep(): Promise<number> {
    // TrainerService keeps (and expires) the photos a sink hands it.
    if (this.options.sink) return 0;
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
      const path = join(this.options.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) {
        await rm(path, { force: true });
        deleted++;
      }
    }
    return deleted;
  }

  private expire(): void {
    const oldest = this.now() - this.options.holdMs;
    for (const [id, photo] of this.held) {
      if (photo.heldAt >= oldest && this.heldBytes <= this.options.holdBytes) return;
      this.held.delete(id);
      this.heldBytes -= photo.bytes.length;
    }
  }
}

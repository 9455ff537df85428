/**
 * Input photos, kept only with consent. Every upload is held in memory for a short while
 * (bounded by bytes and age) under its request id, so that feedback arriving later with the
 * consent flag can keep it; nothing reaches the disk without that consent. With a sink, kept
 * photos go to TrainerService (KeepPhoto), which stores them and applies the retention; without
 * one (StyleService serving from a registry folder, in tests) they go to a local KeptPhotoFolder.
 */
import { KeptPhotoFolder } from '@nst/runtime';

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
  /** Folder for kept photos (created on demand); unused with a sink. Without either, nothing is kept. */
  dir?: string;
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
  private readonly folder: KeptPhotoFolder | undefined;

  constructor(private readonly options: PhotoKeeperOptions) {
    this.now = options.now ?? Date.now;
    this.folder = options.dir && !options.sink ? new KeptPhotoFolder({ dir: options.dir, retentionMs: options.retentionMs, now: this.now }) : undefined;
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
   * Keeps the held upload of `requestId` under `name`: hands it to the sink, or writes it durably
   * to the local folder as `<name>.<format>`, and returns its reference; undefined when the
   * upload is no longer held, the sink failed, or there is nowhere to keep it.
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
    return this.folder?.write(`${name}.${photo.format}`, photo.bytes);
  }

  /** Where a reference returned by `keep` lies (kept in the local folder). */
  pathOf(ref: string): string {
    if (!this.folder) throw new Error('photos go to TrainerService here; there is no local folder');
    return this.folder.pathOf(ref);
  }

  /** Deletes kept photos older than the retention limit; returns how many were deleted. */
  async sweep(): Promise<number> {
    // TrainerService keeps (and expires) the photos a sink hands it.
    return this.options.sink || !this.folder ? 0 : this.folder.sweep();
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

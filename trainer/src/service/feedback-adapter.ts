/**
 * TrainerService's read-only view of the shared feedback store. StyleService writes the store;
 * the trainer opens the same file read-only and sees each rating once it is durable. The file
 * may not exist yet (no rating so far, or StyleService not started): then there are no ratings,
 * and the store is opened on a later look.
 */
import path from 'node:path';
import { JsonlFeedbackStore, type FeedbackRecord, type FeedbackStore } from '@nst/runtime';
import type { FeedbackReader, RatingRecord } from './ports';

export class FeedbackStoreReader implements FeedbackReader {
  private store: FeedbackStore | undefined;

  /**
   * @param open opens the store; the embedded JSON-lines store under `feedbackDir` by default.
   * @param keptPhotosDir where relative photo references resolve.
   */
  constructor(
    private readonly keptPhotosDir: string,
    private readonly open: () => Promise<FeedbackStore>,
  ) {}

  static embedded(feedbackDir: string, keptPhotosDir: string): FeedbackStoreReader {
    return new FeedbackStoreReader(keptPhotosDir, () => JsonlFeedbackStore.open(feedbackDir, { readOnly: true }));
  }

  private async opened(): Promise<FeedbackStore | undefined> {
    if (!this.store) {
      try {
        this.store = await this.open();
      } catch (error) {
        if (error instanceof Error && /does not exist/.test(error.message)) return undefined;
        throw error;
      }
    }
    return this.store;
  }

  private toRating(record: FeedbackRecord): RatingRecord {
    return {
      id: record.id,
      requestId: record.requestId,
      style: record.style,
      version: record.version,
      rating: record.rating,
      ...(record.photoRef ? { photoPath: path.resolve(this.keptPhotosDir, record.photoRef) } : {}),
      receivedAt: record.createdAt,
    };
  }

  async ratingsSince(since: Date): Promise<RatingRecord[]> {
    const store = await this.opened();
    return store ? (await store.query({ since })).map((r) => this.toRating(r)) : [];
  }

  async consentedBadPhotos(style: string): Promise<RatingRecord[]> {
    const store = await this.opened();
    if (!store) return [];
    return (await store.query({ style, rating: 'bad' })).filter((r) => r.consent && r.photoRef).map((r) => this.toRating(r));
  }

  async close(): Promise<void> {
    await this.store?.close();
    this.store = undefined;
  }
}

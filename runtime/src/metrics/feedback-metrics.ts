/**
 * Counts ratings as they become durable (nst_feedback_total by style, version and rating), by
 * wrapping the store's append: the one place every rating passes, whichever store holds it.
 */
import type { FeedbackRecord, FeedbackStore } from '../feedback/feedback-store';
import { platformMetrics, type PlatformMetrics } from './platform-metrics';

export function countingFeedbackSink<S extends Pick<FeedbackStore, 'append'>>(store: S, metrics: PlatformMetrics = platformMetrics()): S {
  const counted = new Set<string>();
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'append') return Reflect.get(target, property, receiver) as unknown;
      return async (record: FeedbackRecord) => {
        await target.append(record);
        // A client's retry of the same id is stored once, so it is counted once (per process).
        if (counted.has(record.id)) return;
        if (counted.size > 100_000) counted.clear();
        counted.add(record.id);
        metrics.feedback.inc({ style: record.style, version: record.version, rating: record.rating });
      };
    },
  });
}

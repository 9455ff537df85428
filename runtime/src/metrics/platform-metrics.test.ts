/** The platform metrics that are set from state rather than counted along a call. */
import { describe, expect, it } from 'vitest';
import type { FeedbackStore } from '../feedback/feedback-store';
import { countingFeedbackSink } from './feedback-metrics';
import { createMetricsRegistry } from './call-metrics';
import { createPlatformMetrics, recordRolloutWeights } from './platform-metrics';

const fresh = () => createPlatformMetrics(createMetricsRegistry({ defaultMetrics: false }));

describe('platform metrics', () => {
  it('tracks rollout weights through a canary, its steps and its promotion, leaving no stale series', async () => {
    const metrics = fresh();
    const weights = async () =>
      (await metrics.rolloutWeight.get()).values.map((v) => `${v.labels.style} v${v.labels.version} ${v.labels.role} ${v.value}`).sort();
    recordRolloutWeights('mosaic', '3', '4', 10, metrics);
    expect(await weights()).toEqual(['mosaic v3 stable 0.9', 'mosaic v4 canary 0.1']);
    recordRolloutWeights('mosaic', '3', '4', 50, metrics);
    expect(await weights()).toEqual(['mosaic v3 stable 0.5', 'mosaic v4 canary 0.5']);
    recordRolloutWeights('mosaic', '4', undefined, 0, metrics);
    expect(await weights()).toEqual(['mosaic v4 stable 1']);
  });

  it('counts each rating once as it becomes durable, by style, version and rating', async () => {
    const metrics = fresh();
    const stored: string[] = [];
    const sink = countingFeedbackSink({ append: async (record: { id: string }) => void stored.push(record.id) } as unknown as FeedbackStore, metrics);
    const rating = (id: string, value: 'good' | 'bad') => ({ id, requestId: '', style: 'mosaic', version: '2', rating: value, clientId: '', consent: false, createdAt: '2026-01-10T12:00:00.000Z' }) as const;
    await sink.append(rating('a', 'bad'));
    await sink.append(rating('a', 'bad'));
    await sink.append(rating('b', 'good'));
    const text = await metrics.registry.metrics();
    expect(text).toContain('nst_feedback_total{style="mosaic",version="2",rating="bad"} 1');
    expect(text).toContain('nst_feedback_total{style="mosaic",version="2",rating="good"} 1');
    expect(stored).toEqual(['a', 'a', 'b']);
  });

  it('does not count a rating the store refused', async () => {
    const metrics = fresh();
    const sink = countingFeedbackSink({ append: () => Promise.reject(new Error('disk full')) } as unknown as FeedbackStore, metrics);
    await expect(sink.append({ id: 'x', style: 's', version: '1', rating: 'bad' } as never)).rejects.toThrow('disk full');
    expect(await metrics.registry.metrics()).not.toMatch(/nst_feedback_total\{/);
  });
});

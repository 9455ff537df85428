import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlFeedbackStore } from './feedback/jsonl-feedback-store';
import { startRetentionSweep } from './retention';
import { JsonlStylizeEventStore } from './serving/jsonl-stylize-event-store';

const NOW = new Date('2026-03-01T00:00:00.000Z');

describe('startRetentionSweep', () => {
  it('prunes each embedded store by its own age limit at start, and logs what it removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nst-retention-'));
    try {
      const feedback = await JsonlFeedbackStore.open(dir);
      const events = await JsonlStylizeEventStore.open(dir);
      const rating = (id: string, createdAt: string) =>
        feedback.append({ id, requestId: id, style: 'mosaic', version: '2', rating: 'bad', clientId: 'c', consent: false, createdAt });
      const served = (id: string, startedAt: string) =>
        events.append({ id, style: 'mosaic', version: '2', code: 'OK', latencyMs: 900, startedAt, clientId: 'c' });
      await rating('f-40-days', '2026-01-20T00:00:00.000Z');
      await rating('f-20-days', '2026-02-09T00:00:00.000Z');
      await served('e-20-days', '2026-02-09T00:00:00.000Z');
      await served('e-5-days', '2026-02-24T00:00:00.000Z');
      const logged: string[] = [];
      const logger = { info: (_: object, message: string) => void logged.push(message), warn: (_: object, message: string) => void logged.push(message) };
      const sweep = startRetentionSweep(
        [
          { name: 'feedback', retentionDays: 30, prune: (before) => feedback.prune(before) },
          { name: 'stylize events', retentionDays: 7, prune: (before) => events.prune(before) },
          { name: 'broken', retentionDays: 1, prune: () => Promise.reject(new Error('disk gone')) },
        ],
        { logger, now: () => NOW },
      );
      await sweep.done;
      await sweep.stop();
      expect((await feedback.query()).map((r) => r.id)).toEqual(['f-20-days']);
      expect((await events.stats({ style: 'mosaic', version: '2' })).requests).toBe(1);
      expect(logged).toEqual([
        'deleted feedback past retention',
        'deleted stylize events past retention',
        'broken retention sweep failed; retried at the next sweep',
      ]);
      await feedback.close();
      await events.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

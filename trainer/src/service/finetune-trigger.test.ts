import { describe, expect, it } from 'vitest';
import { versionsOverThreshold } from './finetune-trigger';
import type { RatingRecord } from './ports';

const thresholds = { minBad: 3, badRatio: 0.5, windowMinutes: 60, cooldownMinutes: 60 };
let n = 0;
const rating = (version: string, value: 'good' | 'bad', receivedAt = '2026-01-01T10:00:00.000Z', requestId?: string): RatingRecord => ({
  id: `f${n++}`,
  ...(requestId ? { requestId } : {}),
  style: 'elephants',
  version,
  rating: value,
  receivedAt,
});
const never = () => '';

describe('versionsOverThreshold', () => {
  it('needs both the count and the share of bad ratings, per version', () => {
    const ratings = [
      ...['bad', 'bad', 'bad', 'good', 'good'].map((r) => rating('1', r as 'good' | 'bad')),
      ...['bad', 'bad', 'bad', 'good', 'good', 'good', 'good'].map((r) => rating('2', r as 'good' | 'bad')),
      ...['bad', 'bad'].map((r) => rating('3', r as 'good' | 'bad')),
    ];
    expect(versionsOverThreshold(ratings, thresholds, never)).toEqual([{ style: 'elephants', version: '1', bad: 3, total: 5 }]);
  });

  it('counts distinct requests: rating one request bad again and again counts once', () => {
    const sameRequest = Array.from({ length: 5 }, (_, i) => rating('1', 'bad', `2026-01-01T10:0${i}:00.000Z`, 'req-1'));
    expect(versionsOverThreshold(sameRequest, thresholds, never)).toEqual([]);
    const twoMore = [...sameRequest, rating('1', 'bad', '2026-01-01T10:06:00.000Z', 'req-2'), rating('1', 'bad', '2026-01-01T10:07:00.000Z', 'req-3')];
    expect(versionsOverThreshold(twoMore, thresholds, never)).toEqual([{ style: 'elephants', version: '1', bad: 3, total: 3 }]);
  });

  it('counts a request by its latest rating', () => {
    const ratings = [
      ...['req-1', 'req-2', 'req-3'].map((id) => rating('1', 'bad', '2026-01-01T10:00:00.000Z', id)),
      rating('1', 'good', '2026-01-01T10:05:00.000Z', 'req-3'),
    ];
    expect(versionsOverThreshold(ratings, thresholds, never)).toEqual([]);
  });

  it('counts only ratings newer than the version’s previous fine-tune', () => {
    const ratings = [
      rating('1', 'bad', '2026-01-01T09:00:00.000Z'),
      rating('1', 'bad', '2026-01-01T09:10:00.000Z'),
      rating('1', 'bad', '2026-01-01T10:10:00.000Z'),
      rating('1', 'bad', '2026-01-01T10:20:00.000Z'),
    ];
    const lastFineTune = () => '2026-01-01T10:00:00.000Z';
    expect(versionsOverThreshold(ratings, thresholds, lastFineTune)).toEqual([]);
    expect(versionsOverThreshold(ratings, thresholds, never)).toEqual([{ style: 'elephants', version: '1', bad: 4, total: 4 }]);
  });
});

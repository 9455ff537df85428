import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FeedbackValidationError, type FeedbackRecord } from './feedback-store';
import { FEEDBACK_FILE, JsonlFeedbackStore } from './jsonl-feedback-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-feedback-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rating(id: string, overrides: Partial<FeedbackRecord> = {}): FeedbackRecord {
  return {
    id,
    requestId: `req-${id}`,
    style: 'mosaic',
    version: '1',
    rating: 'good',
    clientId: 'client-1',
    consent: false,
    createdAt: '2026-01-10T12:00:00.000Z',
    ...overrides,
  };
}

const linesOf = async () => (await readFile(join(dir, FEEDBACK_FILE), 'utf8')).split('\n').filter(Boolean);

describe('JsonlFeedbackStore', () => {
  it('stores ratings durably as JSON lines and reads them back after reopening', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await store.append(rating('a'));
    await store.append(rating('b', { rating: 'bad', reason: 'too dark', consent: true, photoRef: 'kept/b.jpg' }));
    expect(await linesOf()).toHaveLength(2);
    await store.close();
    const reopened = await JsonlFeedbackStore.open(dir);
    expect(await reopened.query()).toEqual([rating('a'), rating('b', { rating: 'bad', reason: 'too dark', consent: true, photoRef: 'kept/b.jpg' })]);
    await reopened.close();
  });

  it('does not store a retried id twice, even while the first append is in flight', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await Promise.all([store.append(rating('a')), store.append(rating('a')), store.append(rating('b'))]);
    await store.append(rating('a', { rating: 'bad' }));
    await store.close();
    const reopened = await JsonlFeedbackStore.open(dir);
    await reopened.append(rating('b'));
    expect((await reopened.query()).map((r) => [r.id, r.rating])).toEqual([
      ['a', 'good'],
      ['b', 'good'],
    ]);
    expect(await linesOf()).toHaveLength(2);
    await reopened.close();
  });

  it('keeps one rating per request: a later rating of the same request replaces the earlier, across reopening', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await store.append(rating('first', { requestId: 'req-1', rating: 'bad', createdAt: '2026-01-10T12:00:00.000Z' }));
    await store.append(rating('other', { requestId: 'req-2', rating: 'bad', createdAt: '2026-01-10T12:01:00.000Z' }));
    await store.append(rating('again', { requestId: 'req-1', rating: 'bad', createdAt: '2026-01-10T12:02:00.000Z' }));
    await store.append(rating('changed', { requestId: 'req-1', rating: 'good', createdAt: '2026-01-10T12:03:00.000Z' }));
    const expected = [
      ['other', 'req-2', 'bad'],
      ['changed', 'req-1', 'good'],
    ];
    const view = async (s: JsonlFeedbackStore) => (await s.query()).map((r) => [r.id, r.requestId, r.rating]);
    expect(await view(store)).toEqual(expected);
    expect(await store.stats()).toMatchObject({ total: 2, good: 1, bad: 1 });
    expect((await store.statsByVersion()).map((s) => [s.total, s.bad])).toEqual([[2, 1]]);
    // A late retry of a replaced rating is recognised by its id and does not undo the newer one.
    await store.append(rating('first', { requestId: 'req-1', rating: 'bad' }));
    expect(await view(store)).toEqual(expected);
    await store.close();

    const reopened = await JsonlFeedbackStore.open(dir);
    expect(await view(reopened)).toEqual(expected);
    const reader = await JsonlFeedbackStore.open(dir, { readOnly: true });
    expect(await view(reader)).toEqual(expected);
    await reader.close();
    await reopened.close();
  });

  it('counts ratings without a request id each on their own', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await store.append(rating('a', { requestId: '', rating: 'bad' }));
    await store.append(rating('b', { requestId: '', rating: 'bad' }));
    expect((await store.stats()).bad).toBe(2);
    await store.close();
  });

  it('keeps the later of two re-ratings of one request appended concurrently', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await Promise.all([store.append(rating('x1', { requestId: 'req-x', rating: 'bad' })), store.append(rating('x2', { requestId: 'req-x', rating: 'good' }))]);
    expect((await store.query()).map((r) => r.id)).toEqual(['x2']);
    await store.close();
    const reopened = await JsonlFeedbackStore.open(dir);
    expect((await reopened.query()).map((r) => r.id)).toEqual(['x2']);
    await reopened.close();
  });

  it('shares one sync among concurrent appends (group commit)', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    let syncs = 0;
    const handle = (store as unknown as { log: { handle: { datasync: () => Promise<void> } } }).log.handle;
    const datasync = handle.datasync.bind(handle);
    handle.datasync = () => (syncs++, datasync());
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(rating(`r${i}`))));
    expect((await store.query()).length).toBe(50);
    expect(syncs).toBeLessThanOrEqual(2);
    await store.close();
  });

  it('ignores a torn last line on load and cuts it off when a writer opens', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await store.append(rating('a'));
    await store.close();
    const whole = await readFile(join(dir, FEEDBACK_FILE), 'utf8');
    await appendFile(join(dir, FEEDBACK_FILE), '{"id":"torn","requestId":"r","sty');

    const reader = await JsonlFeedbackStore.open(dir, { readOnly: true });
    expect((await reader.query()).map((r) => r.id)).toEqual(['a']);
    await reader.close();

    const writer = await JsonlFeedbackStore.open(dir);
    expect(writer.truncatedBytes).toBe(33);
    expect(await readFile(join(dir, FEEDBACK_FILE), 'utf8')).toBe(whole);
    await writer.append(rating('b'));
    await writer.close();
    const reopened = await JsonlFeedbackStore.open(dir);
    expect((await reopened.query()).map((r) => r.id)).toEqual(['a', 'b']);
    expect(reopened.skippedLines).toBe(0);
    await reopened.close();
  });

  it('skips a damaged line in the middle instead of failing', async () => {
    await writeFile(join(dir, FEEDBACK_FILE), `${JSON.stringify(rating('a'))}\nnot json\n{"id":"x"}\n${JSON.stringify(rating('b'))}\n`);
    const store = await JsonlFeedbackStore.open(dir);
    expect((await store.query()).map((r) => r.id)).toEqual(['a', 'b']);
    expect(store.skippedLines).toBe(2);
    await store.close();
  });

  it('rejects invalid records with a validation error', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await expect(store.append(rating('../x'))).rejects.toBeInstanceOf(FeedbackValidationError);
    await expect(store.append(rating('a', { version: 'v1' }))).rejects.toThrow(/version/);
    await expect(store.append(rating('a', { rating: 'meh' as 'good' }))).rejects.toThrow(/rating/);
    await expect(store.append(rating('a', { createdAt: 'yesterday' }))).rejects.toThrow(/createdAt/);
    expect(await store.query()).toEqual([]);
    await store.close();
  });

  it('filters and counts by style, version, rating and time', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await store.append(rating('1', { createdAt: '2026-01-01T00:00:00.000Z' }));
    await store.append(rating('2', { rating: 'bad', photoRef: 'p/2.jpg', consent: true, createdAt: '2026-01-02T00:00:00.000Z' }));
    await store.append(rating('3', { version: '2', rating: 'bad', createdAt: '2026-01-03T00:00:00.000Z' }));
    await store.append(rating('4', { style: 'hatch', version: '10', createdAt: '2026-01-04T00:00:00.000Z' }));
    await store.append(rating('5', { style: 'hatch', version: '9', rating: 'bad', createdAt: '2026-01-05T00:00:00.000Z' }));
    expect((await store.query({ style: 'mosaic', since: new Date('2026-01-02T00:00:00Z') })).map((r) => r.id)).toEqual(['2', '3']);
    expect((await store.query({ rating: 'bad', until: new Date('2026-01-05T00:00:00Z') })).map((r) => r.id)).toEqual(['2', '3']);
    expect(await store.stats({ style: 'mosaic', version: '1' })).toEqual({
      total: 2,
      good: 1,
      bad: 1,
      badRatio: 0.5,
      badWithPhoto: 1,
      first: '2026-01-01T00:00:00.000Z',
      last: '2026-01-02T00:00:00.000Z',
    });
    expect(await store.stats({ style: 'none' })).toEqual({ total: 0, good: 0, bad: 0, badRatio: 0, badWithPhoto: 0 });
    expect((await store.statsByVersion()).map((s) => [s.style, s.version, s.total, s.bad])).toEqual([
      ['hatch', '9', 1, 1],
      ['hatch', '10', 1, 0],
      ['mosaic', '1', 2, 1],
      ['mosaic', '2', 1, 1],
    ]);
    await store.close();
  });

  it('prunes ratings older than the retention, atomically', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await store.append(rating('old', { createdAt: '2025-01-01T00:00:00.000Z', photoRef: 'p/old.jpg', consent: true }));
    await store.append(rating('new', { createdAt: '2026-01-01T00:00:00.000Z' }));
    const removed = await store.prune(new Date('2025-06-01T00:00:00Z'));
    expect(removed.map((r) => [r.id, r.photoRef])).toEqual([['old', 'p/old.jpg']]);
    await store.append(rating('newer', { createdAt: '2026-02-01T00:00:00.000Z' }));
    expect((await store.query()).map((r) => r.id)).toEqual(['new', 'newer']);
    await store.close();
    expect((await linesOf()).map((l) => (JSON.parse(l) as FeedbackRecord).id)).toEqual(['new', 'newer']);
  });

  it('keeps a rating acknowledged while a prune is running', async () => {
    const store = await JsonlFeedbackStore.open(dir);
    await store.append(rating('old', { createdAt: '2025-01-01T00:00:00.000Z' }));
    const [removed] = await Promise.all([
      store.prune(new Date('2025-06-01T00:00:00Z')),
      ...Array.from({ length: 20 }, (_, i) => store.append(rating(`during-${i}`))),
    ]);
    expect(removed.map((r) => r.id)).toEqual(['old']);
    await store.close();
    const ids = (await linesOf()).map((l) => (JSON.parse(l) as FeedbackRecord).id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `during-${i}`)));
  });

  it('lets a read-only store in another process see new appends and prunes', async () => {
    const writer = await JsonlFeedbackStore.open(dir);
    await writer.append(rating('a', { createdAt: '2025-01-01T00:00:00.000Z' }));
    const reader = await JsonlFeedbackStore.open(dir, { readOnly: true });
    expect((await reader.query()).map((r) => r.id)).toEqual(['a']);
    await writer.append(rating('b'));
    expect((await reader.query()).map((r) => r.id)).toEqual(['a', 'b']);
    await writer.prune(new Date('2025-06-01T00:00:00Z'));
    expect((await reader.query()).map((r) => r.id)).toEqual(['b']);
    await expect(reader.append(rating('c'))).rejects.toThrow(/read-only/);
    await reader.close();
    await writer.close();
  });
});

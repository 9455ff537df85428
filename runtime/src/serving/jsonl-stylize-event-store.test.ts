import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlStylizeEventStore, STYLIZE_EVENTS_FILE } from './jsonl-stylize-event-store';
import { isServerFault, percentile, type StylizeEvent } from './stylize-event-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-events-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

let next = 0;
function event(overrides: Partial<StylizeEvent> = {}): StylizeEvent {
  next++;
  return {
    id: `req-${next}`,
    style: 'mosaic',
    version: '2',
    code: 'OK',
    latencyMs: 100,
    startedAt: '2026-01-10T12:00:00.000Z',
    clientId: 'client-1',
    ...overrides,
  };
}

describe('stylize event statistics', () => {
  it('counts only server-fault gRPC statuses as errors', () => {
    for (const code of ['INTERNAL', 'UNKNOWN', 'UNAVAILABLE', 'DATA_LOSS', 'DEADLINE_EXCEEDED']) expect(isServerFault(code)).toBe(true);
    for (const code of ['OK', 'INVALID_ARGUMENT', 'NOT_FOUND', 'CANCELLED', 'RESOURCE_EXHAUSTED']) expect(isServerFault(code)).toBe(false);
  });

  it('takes the nearest-rank 95th percentile', () => {
    expect(percentile([], 95)).toBe(0);
    expect(percentile([7], 95)).toBe(7);
    // 1..100 shuffled: rank ceil(0.95 * 100) = 95.
    const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1000], 95)).toBe(19);
  });
});

describe('JsonlStylizeEventStore', () => {
  it('reports requests, errors by gRPC status and p95 latency per version and window', async () => {
    const store = await JsonlStylizeEventStore.open(dir);
    await Promise.all([
      store.append(event({ latencyMs: 50 })),
      store.append(event({ latencyMs: 70, code: 'INTERNAL' })),
      store.append(event({ latencyMs: 90, code: 'INVALID_ARGUMENT' })),
      store.append(event({ latencyMs: 400, code: 'CANCELLED', startedAt: '2026-01-10T11:00:00.000Z' })),
      store.append(event({ version: '1', latencyMs: 10 })),
    ]);
    expect(await store.stats({ style: 'mosaic', version: '2' })).toEqual({
      requests: 4,
      errors: 1,
      byCode: { OK: 1, INTERNAL: 1, INVALID_ARGUMENT: 1, CANCELLED: 1 },
      p95LatencyMs: 400,
    });
    expect(await store.stats({ style: 'mosaic', version: '2', since: new Date('2026-01-10T11:30:00Z') })).toEqual({
      requests: 3,
      errors: 1,
      byCode: { OK: 1, INTERNAL: 1, INVALID_ARGUMENT: 1 },
      p95LatencyMs: 90,
    });
    expect((await store.stats({ style: 'mosaic', version: '2', until: new Date('2026-01-10T11:30:00Z') })).requests).toBe(1);
    expect((await store.stats({ style: 'mosaic', version: '1' })).p95LatencyMs).toBe(10);
    expect((await store.stats({ style: 'other', version: '1' })).requests).toBe(0);
    await store.close();
  });

  it('lets a reader see what the writer appends later, and skips a torn last line', async () => {
    const reader = await JsonlStylizeEventStore.open(dir, { readOnly: true });
    expect((await reader.stats({ style: 'mosaic', version: '2' })).requests).toBe(0);
    const writer = await JsonlStylizeEventStore.open(dir);
    await writer.append(event());
    await writer.append(event({ code: 'UNAVAILABLE' }));
    expect(await reader.stats({ style: 'mosaic', version: '2' })).toMatchObject({ requests: 2, errors: 1 });
    // A half-written line (the writer crashed mid-batch) is not read until it is whole.
    const whole = JSON.stringify(event({ code: 'DATA_LOSS' }));
    await appendFile(join(dir, STYLIZE_EVENTS_FILE), whole.slice(0, 20));
    expect((await reader.stats({ style: 'mosaic', version: '2' })).requests).toBe(2);
    await appendFile(join(dir, STYLIZE_EVENTS_FILE), whole.slice(20) + '\n');
    expect(await reader.stats({ style: 'mosaic', version: '2' })).toMatchObject({ requests: 3, errors: 2 });
    await writer.close();
    await reader.close();
  });

  it('cuts a torn tail off when a writer reopens, and refuses appends on a read-only store', async () => {
    const writer = await JsonlStylizeEventStore.open(dir);
    await writer.append(event());
    await writer.close();
    await appendFile(join(dir, STYLIZE_EVENTS_FILE), '{"id":"torn');
    const reopened = await JsonlStylizeEventStore.open(dir);
    await reopened.append(event());
    const lines = (await readFile(join(dir, STYLIZE_EVENTS_FILE), 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((line) => JSON.parse(line) as StylizeEvent).map((e) => e.code)).toEqual(['OK', 'OK']);
    expect((await reopened.stats({ style: 'mosaic', version: '2' })).requests).toBe(2);
    await reopened.close();
    const reader = await JsonlStylizeEventStore.open(dir, { readOnly: true });
    await expect(reader.append(event())).rejects.toThrow(/read-only/);
    await reader.close();
  });

  it('re-reads a replaced file from its start instead of counting old events twice', async () => {
    const writer = await JsonlStylizeEventStore.open(dir);
    await writer.append(event());
    await writer.append(event());
    const reader = await JsonlStylizeEventStore.open(dir, { readOnly: true });
    expect((await reader.stats({ style: 'mosaic', version: '2' })).requests).toBe(2);
    await writer.close();
    const replacement = join(dir, 'replacement');
    await writeFile(replacement, JSON.stringify(event()) + '\n');
    const { rename } = await import('node:fs/promises');
    await rename(replacement, join(dir, STYLIZE_EVENTS_FILE));
    expect((await reader.stats({ style: 'mosaic', version: '2' })).requests).toBe(1);
    await reader.close();
  });

  it('prunes events older than the retention, for itself and for a reader', async () => {
    const writer = await JsonlStylizeEventStore.open(dir);
    await writer.append(event({ startedAt: '2026-01-01T00:00:00.000Z' }));
    await writer.append(event({ startedAt: '2026-01-09T00:00:00.000Z', code: 'INTERNAL' }));
    await writer.append(event({ startedAt: '2026-01-10T12:00:00.000Z' }));
    const reader = await JsonlStylizeEventStore.open(dir, { readOnly: true });
    expect((await reader.stats({ style: 'mosaic', version: '2' })).requests).toBe(3);
    expect(await writer.prune(new Date('2026-01-10T00:00:00.000Z'))).toBe(2);
    expect(await writer.stats({ style: 'mosaic', version: '2' })).toMatchObject({ requests: 1, errors: 0 });
    expect((await reader.stats({ style: 'mosaic', version: '2' })).requests).toBe(1);
    await writer.append(event({ startedAt: '2026-01-10T13:00:00.000Z' }));
    expect((await reader.stats({ style: 'mosaic', version: '2' })).requests).toBe(2);
    expect(await writer.prune(new Date('2026-01-10T00:00:00.000Z'))).toBe(0);
    await reader.close();
    await writer.close();
    expect((await readFile(join(dir, STYLIZE_EVENTS_FILE), 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('rejects an event that breaks the schema', async () => {
    const store = await JsonlStylizeEventStore.open(dir);
    await expect(store.append(event({ code: 'ok' }))).rejects.toThrow();
    await expect(store.append(event({ version: 'v2' }))).rejects.toThrow();
    await store.close();
  });
});

/**
 * The Elasticsearch stores against an HTTP server in the test that plays Elasticsearch: every
 * request the client sends is checked as it arrives (method, path, auth, bulk NDJSON, the
 * template and lifecycle bodies, search queries and aggregations), and the answers are what
 * Elasticsearch returns, so the stores' reading of aggregation results is checked too.
 * With ELASTICSEARCH_URL set, the last block runs the same round trip against that cluster.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadStoreConfig } from '../config';
import type { FeedbackRecord } from '../feedback/feedback-store';
import type { StylizeEvent } from '../serving/stylize-event-store';
import { BulkWriter } from './bulk-writer';
import { createElasticsearchClient } from './client';
import { ElasticsearchFeedbackStore } from './es-feedback-store';
import { ElasticsearchStylizeEventStore } from './es-stylize-event-store';
import { FEEDBACK_MAPPINGS } from './setup';
import { openFeedbackStore, openStylizeEventStore } from './stores';

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}
type Answer = { status?: number; body: unknown; delay?: Promise<void> };

let server: Server;
let url: string;
const received: Received[] = [];
/** Answers in order, for requests matching `method path` (path without query). */
const answers = new Map<string, Answer[]>();

function answer(route: string, ...replies: Answer[]): void {
  answers.set(route, [...(answers.get(route) ?? []), ...replies]);
}
const json = (text: string): unknown => JSON.parse(text);
const ndjson = (text: string): unknown[] => text.trim().split('\n').map(json);

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const parsed = new URL(request.url ?? '/', 'http://es');
      received.push({ method: request.method ?? '', path: parsed.pathname, query: parsed.searchParams, headers: request.headers, body: Buffer.concat(chunks).toString() });
      const route = `${request.method} ${parsed.pathname}`;
      const next = answers.get(route)?.shift();
      const reply = next ?? { status: 404, body: { error: { type: 'not_found', reason: `no answer for ${route} in this test` }, status: 404 } };
      void (reply.delay ?? Promise.resolve()).then(() =>
        // The client checks it talks to Elasticsearch by this header.
        response
          .writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' })
          .end(JSON.stringify(reply.body)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
  answers.clear();
});

const settings = (env: Record<string, string> = {}) =>
  loadStoreConfig({ NST_DATA_DIR: '/tmp/nst-es-test-unused', ELASTICSEARCH_URL: url, ELASTICSEARCH_API_KEY: 'a2V5OnNlY3JldA==', ...env });

const rating = (id: string, overrides: Partial<FeedbackRecord> = {}): FeedbackRecord => ({
  id,
  requestId: `req-${id}`,
  style: 'mosaic',
  version: '2',
  rating: 'bad',
  clientId: 'client-1',
  consent: false,
  createdAt: '2026-01-10T12:00:00.000Z',
  ...overrides,
});
const created = (id: string, status = 201) => ({ create: { _index: '.ds-nst-feedback-2026.01.10-000001', _id: id, status } });
const bulkReply = (...items: unknown[]) => ({ body: { took: 3, errors: items.some((i) => (i as { create: { status: number } }).create.status >= 300), items } });

describe('Elasticsearch set-up', () => {
  it('puts a lifecycle policy and a data stream template per store, authenticated with the API key', async () => {
    for (const name of ['nst-feedback', 'nst-stylize-events']) {
      answer(`PUT /_ilm/policy/${name}`, { body: { acknowledged: true } });
      answer(`PUT /_index_template/${name}`, { body: { acknowledged: true } });
    }
    const store = await openFeedbackStore(settings({ NST_FEEDBACK_RETENTION_DAYS: '45' }));
    await store.ready;
    await store.close();
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /_ilm/policy/nst-feedback',
      'PUT /_index_template/nst-feedback',
      'PUT /_ilm/policy/nst-stylize-events',
      'PUT /_index_template/nst-stylize-events',
    ]);
    for (const request of received) expect(request.headers.authorization).toBe('ApiKey a2V5OnNlY3JldA==');
    expect(json(received[0]!.body)).toEqual({
      policy: {
        phases: {
          hot: { actions: { rollover: { max_age: '7d', max_primary_shard_size: '50gb' } } },
          delete: { min_age: '45d', actions: { delete: {} } },
        },
      },
    });
    expect(json(received[1]!.body)).toMatchObject({
      index_patterns: ['nst-feedback*'],
      data_stream: {},
      priority: 500,
      template: { settings: { 'index.lifecycle.name': 'nst-feedback' }, mappings: FEEDBACK_MAPPINGS },
    });
    expect(json(received[3]!.body)).toMatchObject({ index_patterns: ['nst-stylize-events*'], template: { mappings: { properties: { latencyMs: { type: 'float' }, code: { type: 'keyword' } } } } });
  });

  it('opens while Elasticsearch refuses, keeps trying, and holds a rating back until the templates are made', async () => {
    const refused = { status: 503, body: { error: { type: 'master_not_discovered_exception', reason: 'starting' }, status: 503 } };
    // The client itself retries a 503 twice; four refusals make one failed attempt of the store's.
    answer('PUT /_ilm/policy/nst-feedback', refused, refused, refused, refused, { body: { acknowledged: true } });
    answer('PUT /_index_template/nst-feedback', { body: { acknowledged: true } });
    answer('PUT /_ilm/policy/nst-stylize-events', { body: { acknowledged: true } });
    answer('PUT /_index_template/nst-stylize-events', { body: { acknowledged: true } });
    answer('POST /_bulk', bulkReply(created('early')));
    const failures: unknown[] = [];
    const store = await openFeedbackStore(settings(), { retryMs: 20, writer: { lingerMs: 5 }, onUnreachable: (error) => failures.push(error) });
    const appended = store.append(rating('early'));
    await store.ready;
    await appended;
    await store.close();
    expect(failures).toHaveLength(1);
    // Without the template first, the write would have made a data stream with guessed mappings.
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual([
      ...Array<string>(5).fill('PUT /_ilm/policy/nst-feedback'),
      'PUT /_index_template/nst-feedback',
      'PUT /_ilm/policy/nst-stylize-events',
      'PUT /_index_template/nst-stylize-events',
      'POST /_bulk',
    ]);
  });

  it('a store closed before Elasticsearch ever answered stops trying and fails what it held, instead of hanging', async () => {
    const refused = { status: 503, body: { error: { type: 'master_not_discovered_exception', reason: 'starting' }, status: 503 } };
    answer('PUT /_ilm/policy/nst-feedback', refused, refused, refused, refused);
    const store = await openFeedbackStore(settings(), { retryMs: 50 });
    const appended = store.append(rating('never')).then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    await store.close();
    expect(String(await appended)).toMatch(/not reachable before nst-feedback closed/);
    const tries = received.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.length).toBe(tries);
  });

  it('says which variable is wrong when ELASTICSEARCH_URL is not a URL', () => {
    expect(() => loadStoreConfig({ ELASTICSEARCH_URL: 'es:9200' })).toThrow(/ELASTICSEARCH_URL="es:9200" must be an http\(s\) URL/);
  });
});

describe('bulk writes', () => {
  const client = () => createElasticsearchClient(settings());

  it('sends one _bulk of create operations with the feedback ids as _id, and a conflict counts as stored', async () => {
    answer('POST /_bulk', bulkReply(created('f1'), created('f2', 409)));
    const store = new ElasticsearchFeedbackStore(client(), 'nst-feedback', { lingerMs: 20 });
    await Promise.all([store.append(rating('f1', { reason: 'muddy' })), store.append(rating('f2', { rating: 'good' }))]);
    await store.close();
    expect(received).toHaveLength(1);
    const [bulk] = received;
    expect(bulk!.headers['content-type']).toMatch(/^application\/vnd\.elasticsearch\+x-ndjson/);
    expect(ndjson(bulk!.body)).toEqual([
      { create: { _index: 'nst-feedback', _id: 'f1' } },
      { '@timestamp': '2026-01-10T12:00:00.000Z', ...rating('f1', { reason: 'muddy' }) },
      { create: { _index: 'nst-feedback', _id: 'f2' } },
      { '@timestamp': '2026-01-10T12:00:00.000Z', ...rating('f2', { rating: 'good' }) },
    ]);
  });

  it('retries only the documents refused with 429, and a whole request answered 503, under the same ids', async () => {
    answer(
      'POST /_bulk',
      bulkReply(created('a'), { create: { _index: 'x', _id: 'b', status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } }),
      { status: 503, body: { error: { type: 'unavailable_shards_exception', reason: 'no shards' }, status: 503 } },
      bulkReply(created('b')),
    );
    const writer = new BulkWriter(client(), 'nst-feedback', { lingerMs: 10, backoffMs: 10 });
    await Promise.all([writer.write('a', { n: 1 }), writer.write('b', { n: 2 })]);
    const ids = received.map((r) => ndjson(r.body).filter((_, i) => i % 2 === 0).map((op) => (op as { create: { _id: string } }).create._id));
    expect(ids).toEqual([['a', 'b'], ['b'], ['b']]);
    expect(writer.held).toBe(0);
  });

  it('fails a document Elasticsearch refuses for good, with its reason', async () => {
    answer('POST /_bulk', bulkReply({ create: { _index: 'x', _id: 'bad', status: 400, error: { type: 'document_parsing_exception', reason: 'strict mapping: field [x] not allowed' } } }));
    const writer = new BulkWriter(client(), 'nst-feedback', { lingerMs: 10 });
    await expect(writer.write('bad', { x: 1 })).rejects.toThrow('Elasticsearch refused nst-feedback/bad: strict mapping: field [x] not allowed');
  });

  it('holds writers back while its queue is full (back-pressure)', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    answer('POST /_bulk', { ...bulkReply(created('1'), created('2')), delay: held }, bulkReply(created('3')));
    const writer = new BulkWriter(client(), 'nst-feedback', { maxQueued: 2, maxBatch: 2, lingerMs: 5 });
    const first = [writer.write('1', {}), writer.write('2', {})];
    let thirdQueued = false;
    const third = writer.write('3', {}).then(() => (thirdQueued = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(writer.held).toBe(2);
    expect(received).toHaveLength(1);
    expect(thirdQueued).toBe(false);
    release();
    await Promise.all([...first, third]);
    expect(received).toHaveLength(2);
    expect(ndjson(received[1]!.body)[0]).toEqual({ create: { _index: 'nst-feedback', _id: '3' } });
  });
});

describe('reads', () => {
  const store = () => new ElasticsearchFeedbackStore(createElasticsearchClient(settings()), 'nst-feedback');

  const hit = (record: FeedbackRecord) => ({ _id: record.id, _source: { '@timestamp': record.createdAt, ...record }, sort: [Date.parse(record.createdAt), record.id] });

  it('counts one rating per request, the latest, filtering the rating after de-duplication', async () => {
    const stored = [
      rating('f1', { requestId: 'req-1', rating: 'bad', createdAt: '2026-01-10T10:00:00.000Z' }),
      rating('f2', { requestId: 'req-2', rating: 'bad', photoRef: 'p/f2.jpg', consent: true, createdAt: '2026-01-10T10:30:00.000Z' }),
      rating('f3', { requestId: 'req-1', rating: 'bad', createdAt: '2026-01-10T11:00:00.000Z' }),
      rating('f4', { requestId: 'req-1', rating: 'good', createdAt: '2026-01-10T11:30:00.000Z' }),
    ];
    const page = { body: { hits: { total: { value: 4, relation: 'eq' }, hits: stored.map(hit) } } };
    answer('POST /nst-feedback/_search', page, page, page);
    const feedback = store();
    const stats = await feedback.stats({ style: 'mosaic', version: '2', since: new Date('2026-01-10T00:00:00Z') });
    expect(stats).toEqual({ total: 2, good: 1, bad: 1, badRatio: 0.5, badWithPhoto: 1, first: '2026-01-10T10:30:00.000Z', last: '2026-01-10T11:30:00.000Z' });
    expect(received[0]!.query.get('ignore_unavailable')).toBe('true');
    expect(json(received[0]!.body)).toEqual({
      query: { bool: { filter: [{ term: { style: 'mosaic' } }, { term: { version: '2' } }, { range: { '@timestamp': { gte: '2026-01-10T00:00:00.000Z' } } }] } },
      sort: [{ '@timestamp': 'asc' }, { id: 'asc' }],
      size: 1000,
    });
    // req-1 was last rated good, so it is not among the bad ones, though two bad copies are stored.
    expect((await feedback.query({ rating: 'bad' })).map((r) => r.id)).toEqual(['f2']);
    expect(json(received[1]!.body)).toMatchObject({ query: { bool: { filter: [] } } });
    expect((await feedback.statsByVersion()).map((s) => [s.version, s.total, s.bad])).toEqual([['2', 2, 1]]);
  });

  it('reads ratings oldest first, paging with search_after', async () => {
    answer('POST /nst-feedback/_search', { body: { hits: { total: { value: 1, relation: 'eq' }, hits: [hit(rating('x'))] } } });
    expect(await store().query({ style: 'mosaic' })).toEqual([rating('x')]);
    expect(json(received[0]!.body)).toEqual({
      query: { bool: { filter: [{ term: { style: 'mosaic' } }] } },
      sort: [{ '@timestamp': 'asc' }, { id: 'asc' }],
      size: 1000,
    });
  });

  it('reports stylize errors by server-fault status and the p95 latency of a version', async () => {
    answer('POST /nst-stylize-events/_search', {
      body: {
        hits: { total: { value: 10, relation: 'eq' }, hits: [] },
        aggregations: {
          codes: { buckets: [{ key: 'OK', doc_count: 7 }, { key: 'INTERNAL', doc_count: 2 }, { key: 'INVALID_ARGUMENT', doc_count: 1 }] },
          latency: { values: { '95.0': 840.5 } },
        },
      },
    });
    const events = new ElasticsearchStylizeEventStore(createElasticsearchClient(settings()), 'nst-stylize-events');
    const stats = await events.stats({ style: 'mosaic', version: '3', since: new Date('2026-01-10T00:00:00Z'), until: new Date('2026-01-11T00:00:00Z') });
    expect(stats).toEqual({ requests: 10, errors: 2, byCode: { OK: 7, INTERNAL: 2, INVALID_ARGUMENT: 1 }, p95LatencyMs: 840.5 });
    expect(json(received[0]!.body)).toEqual({
      size: 0,
      track_total_hits: true,
      query: { bool: { filter: [{ term: { style: 'mosaic' } }, { term: { version: '3' } }, { range: { '@timestamp': { gte: '2026-01-10T00:00:00.000Z', lt: '2026-01-11T00:00:00.000Z' } } }] } },
      aggs: { codes: { terms: { field: 'code', size: 32 } }, latency: { percentiles: { field: 'latencyMs', percents: [95] } } },
    });
  });
});

// The same round trip against a real cluster, when one is configured.
describe.runIf(process.env['ELASTICSEARCH_URL'])('against the cluster at ELASTICSEARCH_URL', () => {
  it('stores each rating and event once, however often it is written, and reads them back', async () => {
    const prefix = `nst-test-${Date.now().toString(36)}`;
    const config = loadStoreConfig({ ...process.env, NST_DATA_DIR: '/tmp/nst-es-test-unused', NST_ES_INDEX_PREFIX: prefix });
    const feedback = await openFeedbackStore(config, { writer: { refresh: 'wait_for', lingerMs: 10 } });
    const events = await openStylizeEventStore(config, { writer: { refresh: 'wait_for', lingerMs: 10 } });
    try {
      await Promise.all([feedback.append(rating('r1')), feedback.append(rating('r2', { rating: 'good' })), feedback.append(rating('r3', { version: '10' }))]);
      await feedback.append(rating('r1'));
      // A re-rating of r1's request replaces it (and a retry of r1 does not bring it back).
      await feedback.append(rating('r1b', { requestId: 'req-r1', rating: 'good', createdAt: '2026-01-10T12:05:00.000Z' }));
      await feedback.append(rating('r1'));
      expect(await feedback.stats({ style: 'mosaic', version: '2' })).toMatchObject({ total: 2, good: 2, bad: 0, badRatio: 0 });
      expect((await feedback.statsByVersion()).map((s) => [s.version, s.total])).toEqual([['2', 2], ['10', 1]]);
      expect((await feedback.query()).map((r) => r.id).sort()).toEqual(['r1b', 'r2', 'r3']);
      const event = (id: string, code: string, latencyMs: number): StylizeEvent => ({ id, style: 'mosaic', version: '2', code, latencyMs, startedAt: '2026-01-10T12:00:00.000Z', clientId: '' });
      await Promise.all([events.append(event('e1', 'OK', 100)), events.append(event('e2', 'INTERNAL', 200)), events.append(event('e1', 'OK', 100))]);
      expect(await events.stats({ style: 'mosaic', version: '2' })).toMatchObject({ requests: 2, errors: 1, byCode: { OK: 1, INTERNAL: 1 } });
    } finally {
      await feedback.close();
      await events.close();
      const client = createElasticsearchClient(config);
      await client.indices.deleteDataStream({ name: `${prefix}-*` }).catch(() => undefined);
      await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
      await client.close();
    }
  }, 60_000);
});

/**
 * ECS log lines and traces, with the real OpenTelemetry SDK (tracer provider and the async
 * context manager the Node SDK registers): every line written inside a span, across awaits,
 * carries that span's trace.id and span.id; lines outside carry none; and neither image bytes
 * nor tokens ever reach a line.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging';
import { withSpan } from './spans';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await provider.shutdown();
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  return {
    lines,
    raw,
    destination: {
      write: (line: string) => {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}

describe('logs joined to traces', () => {
  it('gives every line inside a span, before and after awaits and in nested spans, its trace.id and span.id', async () => {
    const { lines, destination } = capture();
    const log = createLogger('nst-style', { level: 'info', destination });
    log.info('before');
    await withSpan('stylize', { 'nst.style': 'mosaic' }, async () => {
      log.info('start');
      await new Promise((resolve) => setTimeout(resolve, 5));
      await withSpan('decode', {}, async () => {
        await Promise.resolve();
        log.info('decoding');
      });
      log.info('end');
    });
    log.info('after');
    const spans = exporter.getFinishedSpans();
    const stylize = spans.find((s) => s.name === 'stylize')!;
    const decode = spans.find((s) => s.name === 'decode')!;
    const ids = (line: Record<string, unknown>) => [(line['trace'] as { id?: string } | undefined)?.id, (line['span'] as { id?: string } | undefined)?.id];
    expect(lines.map((l) => l['message'])).toEqual(['before', 'start', 'decoding', 'end', 'after']);
    expect(ids(lines[0]!)).toEqual([undefined, undefined]);
    expect(ids(lines[1]!)).toEqual([stylize.spanContext().traceId, stylize.spanContext().spanId]);
    expect(ids(lines[2]!)).toEqual([stylize.spanContext().traceId, decode.spanContext().spanId]);
    expect(ids(lines[3]!)).toEqual([stylize.spanContext().traceId, stylize.spanContext().spanId]);
    expect(ids(lines[4]!)).toEqual([undefined, undefined]);
    expect(decode.parentSpanContext?.spanId ?? (decode as unknown as { parentSpanId?: string }).parentSpanId).toBe(stylize.spanContext().spanId);
  });

  it('never writes image bytes or tokens, however they are passed', async () => {
    const { lines, raw, destination } = capture();
    const log = createLogger('nst-gateway', { level: 'info', destination });
    // A JPEG's first bytes, then a recognisable run: neither may appear in any form.
    const image = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('PHOTO-PIXELS-'.repeat(20))]);
    await withSpan('call', {}, async () => {
      log.info({ image, upload: { bytes: new Uint8Array(image), header: { style: 'mosaic' } }, model: image.buffer }, 'received');
      log.info({ token: 'tok-secret-1', metadata: { authorization: 'Bearer tok-secret-2' }, call: { adminToken: 'tok-secret-3' } }, 'admin call');
    });
    const text = raw.join('');
    for (const leak of ['PHOTO-PIXELS', Buffer.from('PHOTO-PIXELS-').toString('base64'), '255,216,255', '"data":[', 'tok-secret']) {
      expect(text).not.toContain(leak);
    }
    expect(lines[0]!['image']).toBe(`[binary: ${image.length} bytes]`);
    expect(lines[0]!['upload']).toEqual({ bytes: `[binary: ${image.length} bytes]`, header: { style: 'mosaic' } });
    expect(lines[1]!['token']).toBe('[redacted]');
    expect(lines.every((line) => typeof (line['trace'] as { id?: string }).id === 'string')).toBe(true);
  });
});

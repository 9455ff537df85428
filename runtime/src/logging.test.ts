import { ROOT_CONTEXT, context, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from './logging';

/** Collects the JSON lines a logger writes. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

/** A synchronous context manager: enough for context.with() in a test, without an SDK. */
class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;
  active() {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(_ctx: Context, target: T) {
    return target;
  }
  enable() {
    return this;
  }
  disable() {
    return this;
  }
}

describe('createLogger', () => {
  afterAll(() => context.disable());

  it('writes ECS JSON lines naming the service', () => {
    const { lines, destination } = capture();
    const log = createLogger('nst-style', { level: 'info', destination, version: '0.1.0' });
    log.info({ style: 'mosaic', version: 3 }, 'model loaded');
    log.debug('not written at info');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line['message']).toBe('model loaded');
    expect(line['log.level']).toBe('info');
    expect(line['ecs.version']).toMatch(/^\d+\.\d+/);
    expect(typeof line['@timestamp']).toBe('string');
    expect(line['service.name']).toBe('nst-style');
    expect(line['service.version']).toBe('0.1.0');
    expect(line['style']).toBe('mosaic');
  });

  it('redacts authorization headers and tokens', () => {
    const { lines, destination } = capture();
    const log = createLogger('nst-gateway', { level: 'info', destination });
    log.info({ token: 'tok-123', call: { token: 'tok-456' }, headers: { authorization: 'Bearer abc' } }, 'admin call');
    // An http.IncomingMessage look-alike: ecs-pino-format moves it to http.request.*.
    const req = { httpVersion: '1.1', method: 'POST', url: '/x', headers: { host: 'h', authorization: 'Bearer def', 'x-admin-token': 'ghi' } };
    log.info({ req }, 'request');
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    for (const secret of ['tok-123', 'tok-456', 'Bearer abc', 'Bearer def', 'ghi']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    expect(lines[1]!['http']).toMatchObject({ request: { method: 'POST', headers: { authorization: '[redacted]' } } });
  });

  it('takes its level from NST_LOG_LEVEL', () => {
    const { lines, destination } = capture();
    const log = createLogger('nst-trainer', { destination, env: { NST_LOG_LEVEL: 'warn' } });
    log.info('dropped');
    log.warn('kept');
    expect(lines.map((line) => line['message'])).toEqual(['kept']);
  });

  it('adds trace.id and span.id of the active OpenTelemetry span', () => {
    context.setGlobalContextManager(new StackContextManager());
    const { lines, destination } = capture();
    const log = createLogger('nst-release', { level: 'info', destination });
    const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    context.with(trace.setSpanContext(ROOT_CONTEXT, spanContext), () => log.info('inside a span'));
    log.info('outside');
    expect(lines[0]!['trace']).toEqual({ id: spanContext.traceId });
    expect(lines[0]!['span']).toEqual({ id: spanContext.spanId });
    expect(lines[1]!['trace']).toBeUndefined();
  });

  it('writes short human lines prefixed by the service name in the pretty format, secrets still redacted', () => {
    const text: string[] = [];
    const destination = { write: (chunk: string) => void text.push(chunk) };
    const log = createLogger('style', { level: 'info', format: 'pretty', colorize: false, destination });
    log.info({ port: 9461, token: 'tok-123' }, 'metrics served');
    log.info({ http: { response: { status_code: 200, headers: { vary: 'Origin' } } } }, 'request completed');
    log.warn({ err: new Error('disk slow') }, 'retrying');
    log.error({ err: new Error('disk gone') }, 'gave up');
    const [info, request, warn, error] = text;
    expect(request).toMatch(/request completed \{"http":\{"response":\{"status_code":200\}\}\}\n$/);
    expect(info).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: style {2}metrics served \{"port":9461,"token":"\[redacted\]"\}\n$/);
    expect(warn).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: style {2}retrying \(Error: disk slow\)\n$/);
    // At error level the stack follows, indented, without repeating the message.
    expect(error).toMatch(/^\[\d\d:\d\d:\d\d\] ERROR: style {2}gave up \(Error: disk gone\)\n {4}at /);
    expect(error).not.toMatch(/\n {4}Error: disk gone/);
    for (const line of text) expect(line).not.toMatch(/ecs\.version|process\.pid|host\.hostname|tok-123/);
  });

  it('takes its format from NST_LOG_FORMAT', () => {
    const text: string[] = [];
    const destination = { write: (chunk: string) => void text.push(chunk) };
    createLogger('trainer', { level: 'info', destination, env: { NST_LOG_FORMAT: 'pretty' }, colorize: false }).info('human');
    createLogger('trainer', { level: 'info', destination, env: { NST_LOG_FORMAT: 'json' } }).info('machine');
    expect(text[0]).toMatch(/INFO: trainer {2}human/);
    expect(JSON.parse(text[1]!)).toMatchObject({ message: 'machine', 'service.name': 'trainer' });
  });

  it('names the service in ECS lines as its spans do (OTEL_SERVICE_NAME), so Kibana joins logs and traces', () => {
    const text: string[] = [];
    const destination = { write: (chunk: string) => void text.push(chunk) };
    createLogger('style', { level: 'info', destination, env: { NST_LOG_FORMAT: 'json', OTEL_SERVICE_NAME: 'nst-style' } }).info('traced');
    createLogger('style', { level: 'info', destination, env: { NST_LOG_FORMAT: 'pretty', OTEL_SERVICE_NAME: 'nst-style' }, colorize: false }).info('read');
    expect(JSON.parse(text[0]!)).toMatchObject({ message: 'traced', 'service.name': 'nst-style' });
    expect(text[1]).toMatch(/INFO: style {2}read/);
  });
});

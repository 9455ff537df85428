/**
 * An OTLP/HTTP trace receiver for tests and benches: a node http server taking what the
 * OTLP http/protobuf exporter really sends (POST /v1/traces, ExportTraceServiceRequest,
 * optionally gzip), decoded with protobufjs from the OTLP .proto messages.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** SERVER, CLIENT, INTERNAL... */
  kind: string;
  attributes: Record<string, string | number | boolean>;
  /** Resource attributes (service.name, service.version, deployment.environment...). */
  resource: Record<string, string | number | boolean>;
  startNs: bigint;
  endNs: bigint;
  status: string;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:port (the OTEL_EXPORTER_OTLP_ENDPOINT to give exporters). */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Request headers of each export, for checking the configured auth header arrives. */
  headers: IncomingMessage['headers'][];
  /** Resolves once `predicate` holds for the spans received so far. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const PROTO = new URL('./otlp/trace-service.proto', import.meta.url).pathname;

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface DecodedSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: string;
  attributes?: KeyValue[];
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status?: { code?: string };
}
interface DecodedRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: DecodedSpan[] }[] }[];
}

function attributesOf(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (!value) continue;
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const root = await protobuf.load(PROTO);
  const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const spans: ReceivedSpan[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const listeners = new Set<() => void>();

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces' || request.headers['content-type'] !== 'application/x-protobuf') {
        response.writeHead(404).end();
        return;
      }
      headers.push(request.headers);
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const decoded = Request.toObject(Request.decode(body), { enums: String, longs: String, bytes: Buffer }) as DecodedRequest;
      for (const resourceSpans of decoded.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service: String(resource['service.name'] ?? ''),
              traceId: Buffer.from(span.traceId).toString('hex'),
              spanId: Buffer.from(span.spanId).toString('hex'),
              parentSpanId: span.parentSpanId ? Buffer.from(span.parentSpanId).toString('hex') : '',
              name: span.name,
              kind: span.kind.replace(/^SPAN_KIND_/, ''),
              attributes: attributesOf(span.attributes),
              resource,
              startNs: BigInt(span.startTimeUnixNano),
              endNs: BigInt(span.endTimeUnixNano),
              status: (span.status?.code ?? 'STATUS_CODE_UNSET').replace(/^STATUS_CODE_/, ''),
            });
          }
        }
      }
      // An empty ExportTraceServiceResponse (zero bytes): full success.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      for (const listener of listeners) listener();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    headers,
    waitFor(predicate, timeoutMs = 20_000) {
      if (predicate(spans)) return Promise.resolve(spans);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate(spans)) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(spans);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`the spans awaited did not arrive within ${timeoutMs} ms; received: ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`));
        }, timeoutMs);
        listeners.add(check);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

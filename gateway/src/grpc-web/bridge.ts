/**
 * gRPC-Web to gRPC bridge for fastify: unary and server-streaming calls, binary and text
 * modes, metadata both ways, `grpc-timeout` deadlines, cancellation when the browser goes
 * away, and trailers (including grpc-status-details-bin) passed through.
 *
 * Hand-written on purpose. The maintained option, @connectrpc/connect-fastify, serves
 * gRPC-Web from in-process handlers over protobuf-es generated code: proxying through it means
 * a second code generator and a handler per method that decodes and re-encodes every message
 * (1 MP images included). This bridge forwards message bytes untouched with a generic grpc-js
 * client (identity serializers), so it is proto-agnostic and adds no copy of the payload
 * beyond framing; the node gRPC-Web proxies on npm (@grpc-web/proxy 0.1.0) are unmaintained.
 */
import { Client, Metadata, credentials, status, type ClientReadableStream, type StatusObject } from '@grpc/grpc-js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayMetrics } from '../metrics';
import {
  FramingError,
  MESSAGE_FLAG,
  decodeText,
  encodeFrame,
  encodeGrpcMessage,
  encodeTrailers,
  parseContentType,
  parseGrpcTimeout,
  readSingleMessage,
  type ContentType,
} from './framing';
import { clientStreamingPaths, methodRoutes, type MethodRoute, type UpstreamName } from './routes';

export interface BridgeOptions {
  /** host:port of each upstream gRPC server. */
  upstreams: Record<UpstreamName, string>;
  /**
   * Largest request message accepted (bytes, decoded). Larger requests are answered
   * RESOURCE_EXHAUSTED before anything is sent upstream.
   */
  maxRequestBytes: number;
  /** Largest upstream reply message accepted; matches the services' send limits. */
  maxResponseMessageBytes: number;
  metrics: GatewayMetrics;
}

/** HTTP and gRPC-Web transport headers that are not call metadata. */
const TRANSPORT_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-type',
  'content-length',
  'transfer-encoding',
  'te',
  'upgrade',
  'accept',
  'accept-encoding',
  'accept-language',
  'origin',
  'referer',
  'cookie',
  'x-grpc-web',
  'x-user-agent',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'priority',
  'pragma',
  'cache-control',
  'dnt',
  // grpc-js sets its own user-agent on upstream calls.
  'user-agent',
]);

/** Upstream metadata keys that belong to the transport, never copied into HTTP headers. */
const RESERVED_METADATA = new Set(['content-type', 'grpc-status', 'grpc-message', 'grpc-encoding', 'grpc-accept-encoding']);

const identity = (value: Buffer): Buffer => value;

/**
 * Who the client is for StyleService's per-client admission: the address the front door
 * trusts (the gateway's request.ip; Envoy's trusted client address in the cluster), always
 * overwriting what a client sent under that name.
 */
export const CLIENT_ADDRESS_METADATA_KEY = 'x-nst-client-address';

/**
 * Request headers to gRPC metadata: `-bin` headers are base64 on the HTTP side. `peerAddress`
 * (the connection's) is appended to x-forwarded-for; `clientAddress` (the trusted client,
 * which is the peer unless proxies in front are trusted) becomes x-nst-client-address.
 */
export function headersToMetadata(headers: IncomingHttpHeaders, peerAddress: string, clientAddress = peerAddress): Metadata {
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || TRANSPORT_HEADERS.has(name) || name.startsWith(':') || name.startsWith('sec-')) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      // HTTP/1 folds repeated headers with commas; binary values never contain one.
      if (name.endsWith('-bin')) for (const part of item.split(',')) metadata.add(name, Buffer.from(part.trim(), 'base64'));
      else metadata.add(name, item);
    }
  }
  const forwarded = metadata.get('x-forwarded-for').join(', ');
  metadata.set('x-forwarded-for', forwarded ? `${forwarded}, ${peerAddress}` : peerAddress);
  metadata.set(CLIENT_ADDRESS_METADATA_KEY, clientAddress);
  return metadata;
}

/** gRPC metadata to HTTP header pairs (binary values base64-encoded). */
export function metadataToHeaders(metadata: Metadata): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (const [name, values] of Object.entries(metadata.toJSON())) {
    if (RESERVED_METADATA.has(name) || name.startsWith(':')) continue;
    for (const value of values) headers.push([name, Buffer.isBuffer(value) ? value.toString('base64') : String(value)]);
  }
  return headers;
}

/** One HTTP response carrying a gRPC-Web reply; writes headers once, then frames, then trailers. */
class ReplyWriter {
  private headersSent = false;
  finished = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly type: ContentType,
    private readonly metrics: GatewayMetrics,
    private readonly method: string,
  ) {}

  get raw() {
    return this.reply.raw;
  }

  sendHeaders(metadata?: Metadata): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(this.reply.getHeaders())) {
      if (value !== undefined) headers[name] = typeof value === 'number' ? String(value) : value;
    }
    headers['content-type'] = this.type.responseType;
    // Proxies must not buffer or transform a stream of frames.
    headers['cache-control'] = 'no-cache, no-transform';
    headers['x-accel-buffering'] = 'no';
    for (const [name, value] of metadata ? metadataToHeaders(metadata) : []) {
      const existing = headers[name];
      headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    this.raw.writeHead(200, headers);
    this.raw.flushHeaders();
  }

  /** Writes one frame; false when the socket buffer is full (the caller should pause). */
  write(frame: Buffer): boolean {
    this.sendHeaders();
    this.metrics.responseBytes.inc({ method: this.method }, frame.length);
    return this.raw.write(this.type.mode === 'text' ? frame.toString('base64') : frame);
  }

  /** Writes a message frame; binary mode sends the payload as it is, without copying it. */
  writeMessage(payload: Buffer): boolean {
    if (this.type.mode === 'text') return this.write(encodeFrame(MESSAGE_FLAG, payload));
    this.sendHeaders();
    this.metrics.responseBytes.inc({ method: this.method }, payload.length + 5);
    const header = Buffer.allocUnsafe(5);
    header[0] = MESSAGE_FLAG;
    header.writeUInt32BE(payload.length, 1);
    this.raw.cork();
    this.raw.write(header);
    const more = this.raw.write(payload);
    process.nextTick(() => this.raw.uncork());
    return more;
  }

  finish(grpcStatus: StatusObject): void {
    if (this.finished) return;
    this.finished = true;
    const trailers: Array<[string, string]> = [
      ['grpc-status', String(grpcStatus.code)],
      ['grpc-message', encodeGrpcMessage(grpcStatus.details)],
      ...metadataToHeaders(grpcStatus.metadata),
    ];
    this.write(encodeTrailers(trailers));
    this.raw.end();
  }
}

function statusOf(code: status, details: string): StatusObject {
  return { code, details, metadata: new Metadata() };
}

/**
 * Registers the gRPC-Web routes on a fastify instance. Returns a function that closes the
 * upstream channels.
 */
export function registerGrpcWebBridge(app: FastifyInstance, options: BridgeOptions): () => void {
  const channelOptions = {
    'grpc.max_send_message_length': options.maxRequestBytes,
    'grpc.max_receive_message_length': options.maxResponseMessageBytes,
  };
  const clients = new Map<UpstreamName, Client>();
  const clientFor = (name: UpstreamName): Client => {
    let client = clients.get(name);
    if (!client) {
      client = new Client(options.upstreams[name], credentials.createInsecure(), channelOptions);
      clients.set(name, client);
    }
    return client;
  };
  const { metrics } = options;

  // Text mode inflates the body by 4/3; the decoded message is checked against the limit.
  const bodyLimit = Math.ceil(((options.maxRequestBytes + 5) * 4) / 3) + 1024;
  app.addContentTypeParser(/^application\/grpc-web/, { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
    done(null, body),
  );

  const serve = (route: MethodRoute) => async (request: FastifyRequest, reply: FastifyReply) => {
    const type = parseContentType(request.headers['content-type']);
    if (!type) {
      return reply
        .code(415)
        .send({ error: `send gRPC-Web (application/grpc-web+proto or application/grpc-web-text) to ${route.path}` });
    }
    const method = `${route.service}/${route.method}`;
    const writer = new ReplyWriter(reply, type, metrics, method);
    reply.hijack();
    const started = performance.now();
    metrics.inFlight.inc({ method });
    const settle = (grpcStatus: StatusObject): void => {
      if (writer.finished) return;
      metrics.inFlight.dec({ method });
      metrics.observe(method, status[grpcStatus.code] ?? String(grpcStatus.code), (performance.now() - started) / 1000);
      if (!writer.raw.destroyed) writer.finish(grpcStatus);
      else writer.finished = true;
    };

    let message: Buffer;
    try {
      const body = request.body as Buffer;
      metrics.requestBytes.inc({ method }, body.length);
      message = readSingleMessage(type.mode === 'text' ? decodeText(body.toString('latin1')) : body);
    } catch (error) {
      if (!(error instanceof FramingError)) throw error;
      return settle(statusOf(status.INVALID_ARGUMENT, error.message));
    }
    if (message.length > options.maxRequestBytes) {
      return settle(statusOf(status.RESOURCE_EXHAUSTED, requestTooLarge(message.length, options.maxRequestBytes)));
    }

    const timeoutMs = parseGrpcTimeout(request.headers['grpc-timeout'] as string | undefined);
    const call: ClientReadableStream<Buffer> = clientFor(route.upstream).makeServerStreamRequest(
      route.path,
      identity,
      identity,
      message,
      headersToMetadata(request.headers, request.socket.remoteAddress ?? request.ip, request.ip),
      timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs },
    );

    // The browser went away (tab closed, fetch aborted): cancel upstream so the service
    // drops queued and in-flight work.
    writer.raw.on('close', () => {
      if (!writer.finished) {
        call.cancel();
        settle(statusOf(status.CANCELLED, 'the browser closed the request'));
      }
    });
    call.on('metadata', (metadata: Metadata) => writer.sendHeaders(metadata));
    call.on('data', (payload: Buffer) => {
      if (!writer.writeMessage(payload)) {
        call.pause();
        writer.raw.once('drain', () => call.resume());
      }
    });
    // Errors arrive again as the status; the listener keeps the stream from throwing.
    call.on('error', () => undefined);
    call.on('status', (grpcStatus: StatusObject) => {
      // grpc-js reports the status as soon as it arrives; messages held back by a paused
      // stream must be written before the trailers.
      if (call.readableLength === 0) settle(grpcStatus);
      else call.once('end', () => settle(grpcStatus));
    });
  };

  const routes = methodRoutes();
  for (const route of routes.values()) {
    app.post(route.path, serve(route));
  }
  const unsupported = new Set(clientStreamingPaths());
  // Anything else that looks like a gRPC path gets a gRPC answer, not an HTML 404.
  app.post('/:service/:method', async (request, reply) => {
    const type = parseContentType(request.headers['content-type']);
    if (!type) return reply.code(404).send({ error: 'not found' });
    const path = request.url.split('?')[0] as string;
    const details = unsupported.has(path)
      ? `${path} streams requests, which gRPC-Web cannot do; use the unary or server-streaming variant`
      : `the gateway does not route ${path}`;
    const writer = new ReplyWriter(reply, type, metrics, 'unrouted');
    reply.hijack();
    writer.finish(statusOf(status.UNIMPLEMENTED, details));
  });

  return () => {
    for (const client of clients.values()) client.close();
    clients.clear();
  };
}

export function requestTooLarge(bytes: number, limit: number): string {
  const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MB`;
  return `the request is ${mb(bytes)}, more than the gateway accepts (${mb(limit)}); send a smaller image`;
}

/** Writes a complete gRPC-Web error reply (used for requests refused before routing). */
export function sendGrpcWebError(reply: FastifyReply, type: ContentType, metrics: GatewayMetrics, code: status, details: string): void {
  const writer = new ReplyWriter(reply, type, metrics, 'refused');
  reply.hijack();
  writer.finish(statusOf(code, details));
}

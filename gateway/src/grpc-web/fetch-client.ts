/**
 * A minimal gRPC-Web caller over fetch, for the gateway's tests and bench (the browser uses
 * nice-grpc-web; buf curl is the independent check). It collects the whole reply.
 */
import { MESSAGE_FLAG, TRAILER_FLAG, decodeText, decodeTrailers, encodeFrame, readFrames, type WireMode } from './framing';

export interface GrpcWebReply {
  httpStatus: number;
  headers: Headers;
  messages: Buffer[];
  /** Trailers from the trailer frame, or from the headers of a trailers-only reply. */
  trailers: Map<string, string>;
  grpcStatus: number;
  grpcMessage: string;
}

export interface GrpcWebCallOptions {
  mode?: WireMode;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called with each message as it arrives (binary mode streams; text mode too). */
  onMessage?: (message: Buffer) => void;
}

export async function callGrpcWeb(
  baseUrl: string,
  path: string,
  request: Uint8Array,
  options: GrpcWebCallOptions = {},
): Promise<GrpcWebReply> {
  const mode = options.mode ?? 'binary';
  const frame = encodeFrame(MESSAGE_FLAG, request);
  const response = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: {
      'content-type': mode === 'text' ? 'application/grpc-web-text' : 'application/grpc-web+proto',
      accept: mode === 'text' ? 'application/grpc-web-text' : 'application/grpc-web+proto',
      'x-grpc-web': '1',
      ...options.headers,
    },
    body: mode === 'text' ? frame.toString('base64') : new Uint8Array(frame),
    signal: options.signal ?? null,
  });
  const messages: Buffer[] = [];
  let trailers = new Map<string, string>();
  // Received bytes not yet framed; joined only once a whole frame is there (no quadratic
  // re-copying of large image messages).
  let pendingChunks: Buffer[] = [];
  let pendingBytes = 0;
  let pendingText = '';
  const frameLength = (): number | undefined => {
    if (pendingBytes < 5) return undefined;
    const head = pendingChunks[0] && pendingChunks[0].length >= 5 ? pendingChunks[0] : Buffer.concat(pendingChunks);
    return 5 + head.readUInt32BE(1);
  };
  const consume = (bytes: Buffer): void => {
    pendingChunks.push(bytes);
    pendingBytes += bytes.length;
    for (let length = frameLength(); length !== undefined && pendingBytes >= length; length = frameLength()) {
      const joined = pendingChunks.length === 1 ? (pendingChunks[0] as Buffer) : Buffer.concat(pendingChunks);
      const [frame] = readFrames(joined.subarray(0, length));
      const rest = joined.subarray(length);
      pendingChunks = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
      if (!frame) continue;
      if (frame.flag === TRAILER_FLAG) trailers = decodeTrailers(frame.payload);
      else {
        messages.push(frame.payload);
        options.onMessage?.(frame.payload);
      }
    }
  };
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (mode === 'binary') consume(Buffer.from(chunk));
      else {
        pendingText += Buffer.from(chunk).toString('latin1');
        const usable = pendingText.length - (pendingText.length % 4);
        consume(decodeText(pendingText.slice(0, usable)));
        pendingText = pendingText.slice(usable);
      }
    }
  }
  if (trailers.size === 0) {
    for (const name of ['grpc-status', 'grpc-message']) {
      const value = response.headers.get(name);
      if (value !== null) trailers.set(name, value);
    }
  }
  return {
    httpStatus: response.status,
    headers: response.headers,
    messages,
    trailers,
    grpcStatus: Number(trailers.get('grpc-status') ?? 2),
    grpcMessage: decodeURIComponent(trailers.get('grpc-message') ?? ''),
  };
}

/**
 * gRPC-Web wire format (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md): the
 * body is a sequence of frames, each a flag byte (0x00 message, 0x80 trailers) and a 4-byte
 * big-endian length; trailers are an HTTP/1 header block. In text mode
 * (application/grpc-web-text) the same bytes travel base64-encoded, and a body may be a
 * concatenation of separately padded base64 segments (Envoy and this gateway encode each frame
 * on its own so it can be flushed at once).
 */

export const MESSAGE_FLAG = 0x00;
export const TRAILER_FLAG = 0x80;
const COMPRESSED_FLAG = 0x01;
const HEADER_BYTES = 5;

export type WireMode = 'binary' | 'text';

export interface ContentType {
  mode: WireMode;
  /** The content type the response carries (the request's, normalised). */
  responseType: string;
}

/**
 * Classifies a request content type. `application/grpc-web` and `application/grpc-web+proto`
 * are binary, `application/grpc-web-text(+proto)` is base64 text; anything else (including
 * `+json`, which the platform does not speak) is not gRPC-Web.
 */
export function parseContentType(header: string | undefined): ContentType | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  switch (type) {
    case 'application/grpc-web':
    case 'application/grpc-web+proto':
      return { mode: 'binary', responseType: 'application/grpc-web+proto' };
    case 'application/grpc-web-text':
    case 'application/grpc-web-text+proto':
      return { mode: 'text', responseType: 'application/grpc-web-text+proto' };
    default:
      return undefined;
  }
}

export class FramingError extends Error {}

/**
 * Decodes base64 text that may consist of several padded segments ("AAA=AAA=" is two
 * segments): every 4-character group is decoded on its own, which is what such bodies need.
 */
export function decodeText(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/=]*$/.test(clean)) {
    throw new FramingError('the grpc-web-text body is not valid base64');
  }
  // Fast path: padding only at the very end means one segment.
  const firstPad = clean.indexOf('=');
  if (firstPad === -1 || firstPad >= clean.length - 2) return Buffer.from(clean, 'base64');
  const parts: Buffer[] = [];
  let segmentStart = 0;
  for (let i = 0; i < clean.length; i += 4) {
    if (clean[i + 3] === '=') {
      parts.push(Buffer.from(clean.slice(segmentStart, i + 4), 'base64'));
      segmentStart = i + 4;
    }
  }
  if (segmentStart < clean.length) parts.push(Buffer.from(clean.slice(segmentStart), 'base64'));
  return Buffer.concat(parts);
}

export interface Frame {
  flag: number;
  payload: Buffer;
}

/** Splits a complete body into frames; rejects compressed or truncated frames. */
export function readFrames(body: Buffer): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < HEADER_BYTES) throw new FramingError('the request ends inside a frame header');
    const flag = body[offset] as number;
    const length = body.readUInt32BE(offset + 1);
    const end = offset + HEADER_BYTES + length;
    if (end > body.length) throw new FramingError('the request ends inside a frame');
    if (flag & COMPRESSED_FLAG) throw new FramingError('compressed gRPC-Web messages are not supported');
    frames.push({ flag, payload: body.subarray(offset + HEADER_BYTES, end) });
    offset = end;
  }
  return frames;
}

/**
 * The single request message of a unary or server-streaming call. gRPC-Web cannot stream
 * requests, so anything but exactly one message frame is a malformed request.
 */
export function readSingleMessage(body: Buffer): Buffer {
  const messages = readFrames(body).filter((frame) => frame.flag === MESSAGE_FLAG);
  if (messages.length !== 1) {
    throw new FramingError(`a gRPC-Web request carries exactly one message; this one has ${messages.length}`);
  }
  return (messages[0] as Frame).payload;
}

export function encodeFrame(flag: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame[0] = flag;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

/** A trailer frame: `name: value\r\n` lines, names lower-case as HTTP/2 requires. */
export function encodeTrailers(trailers: ReadonlyArray<readonly [string, string]>): Buffer {
  const block = trailers.map(([name, value]) => `${name.toLowerCase()}: ${value}\r\n`).join('');
  return encodeFrame(TRAILER_FLAG, Buffer.from(block, 'utf8'));
}

/** Parses a trailer frame's header block (the inverse of encodeTrailers). */
export function decodeTrailers(payload: Uint8Array): Map<string, string> {
  const trailers = new Map<string, string>();
  for (const line of Buffer.from(payload).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return trailers;
}

/** Percent-encodes a grpc-message value as the gRPC spec requires (non-ASCII and '%'). */
export function encodeGrpcMessage(message: string): string {
  return Array.from(Buffer.from(message, 'utf8'))
    .map((byte) =>
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Milliseconds of a `grpc-timeout` header ("10S", "250m", "1H"...); undefined when absent or invalid. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const match = value?.trim().match(/^(\d{1,8})([HMSmun])$/);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
  return amount * (unitMs[match[2] as string] as number);
}

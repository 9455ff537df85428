import { describe, expect, it } from 'vitest';
import {
  FramingError,
  decodeText,
  decodeTrailers,
  encodeFrame,
  encodeGrpcMessage,
  encodeTrailers,
  parseContentType,
  parseGrpcTimeout,
  readSingleMessage,
} from './framing';

describe('gRPC-Web framing', () => {
  it('decodes text bodies made of separately padded base64 segments', () => {
    const frames = [encodeFrame(0, Buffer.from('a')), encodeFrame(0, Buffer.from('bc')), encodeTrailers([['grpc-status', '0']])];
    const text = frames.map((frame) => frame.toString('base64')).join('');
    expect(text.slice(0, -4)).toMatch(/=/); // padding inside the body, not only at its end
    expect(decodeText(text)).toEqual(Buffer.concat(frames));
    expect(() => decodeText('abc')).toThrow(FramingError);
  });

  it('reads exactly one message and rejects truncated or compressed frames', () => {
    const frame = encodeFrame(0, Buffer.from([1, 2, 3]));
    expect(readSingleMessage(frame)).toEqual(Buffer.from([1, 2, 3]));
    expect(() => readSingleMessage(frame.subarray(0, 6))).toThrow(/ends inside a frame/);
    expect(() => readSingleMessage(encodeFrame(1, Buffer.from([1])))).toThrow(/compressed/);
    expect(() => readSingleMessage(Buffer.alloc(0))).toThrow(/has 0/);
  });

  it('round-trips trailers with lower-case names', () => {
    const frame = encodeTrailers([['Grpc-Status', '5'], ['grpc-message', 'not%20found']]);
    expect(frame[0]).toBe(0x80);
    expect(decodeTrailers(frame.subarray(5))).toEqual(new Map([['grpc-status', '5'], ['grpc-message', 'not%20found']]));
  });

  it('percent-encodes grpc-message as the spec asks', () => {
    expect(encodeGrpcMessage('100% ü\n')).toBe('100%25 %C3%BC%0A');
    expect(decodeURIComponent(encodeGrpcMessage('naïve — ok'))).toBe('naïve — ok');
  });

  it('parses grpc-timeout units and content types', () => {
    expect(parseGrpcTimeout('10S')).toBe(10_000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('2M')).toBe(120_000);
    expect(parseGrpcTimeout('5000u')).toBe(5);
    expect(parseGrpcTimeout('1.5S')).toBeUndefined();
    expect(parseContentType('application/grpc-web-text; charset=utf-8')?.mode).toBe('text');
    expect(parseContentType('application/grpc-web')?.responseType).toBe('application/grpc-web+proto');
    expect(parseContentType('application/grpc-web+json')).toBeUndefined();
  });
});

/**
 * The fuzzer's inputs: a corpus of valid images and valid requests, and fast-check
 * arbitraries for what is done to them (bit flips, truncations, spliced or random bytes,
 * inflated declared dimensions, decompression bombs, chunk sequences in the wrong order,
 * header-only and empty streams, malformed protobuf, gRPC-Web frames with bad lengths and
 * flags, bad base64, hostile names). A plan is small and seeded (fast-check draws it from
 * the seed); materialise() turns it into the bytes sent, so a failing input is reproduced
 * from its seed and index alone.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { type OutputFormat, SubmitFeedbackRequest, StylizeImageRequest, StylizeRequest, type StylizeHeader } from '@nst/proto';
import sharp from 'sharp';
import { bombPng, photoJpeg } from '@nst/test-kit';

export interface Corpus {
  /** Valid encoded images of every accepted format, small so a valid input is cheap to serve. */
  images: { format: string; bytes: Buffer }[];
  /** A style the server serves, and its version. */
  style: string;
  version: string;
}

export async function buildCorpus(style: string, version: string): Promise<Corpus> {
  const jpeg = await photoJpeg(64, 48);
  const raw = sharp(jpeg);
  return {
    style,
    version,
    images: [
      { format: 'jpeg', bytes: jpeg },
      { format: 'png', bytes: await raw.clone().png().toBuffer() },
      { format: 'webp', bytes: await raw.clone().webp().toBuffer() },
      { format: 'gif', bytes: await raw.clone().gif().toBuffer() },
      { format: 'tiff', bytes: await raw.clone().tiff().toBuffer() },
      { format: 'png-alpha', bytes: await raw.clone().ensureAlpha(0.5).png().toBuffer() },
    ],
  };
}

// ---------- plans (what fast-check draws) ----------

const imageMutation = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('none' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bitflip' as const), positions: fc.array(fc.nat(), { minLength: 1, maxLength: 32 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('inflate' as const),
      width: fc.oneof(fc.integer({ min: 1, max: 70_000 }), fc.constant(0x7fffffff), fc.constant(0)),
      height: fc.oneof(fc.integer({ min: 1, max: 70_000 }), fc.constant(0x7fffffff), fc.constant(0)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bomb' as const), side: fc.integer({ min: 2_000, max: 60_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 256 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 4096 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('empty' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 6 }) }) },
);

const imagePlan = fc.record({ base: fc.nat(), mutation: imageMutation });

const HOSTILE_NAMES = ['', '..', '../../etc/passwd', 'no-such-style', 'UPPER', 'a/../b', '%2e%2e', 'x'.repeat(300), '\u0000', 'é', 'constructor', '__proto__', 'valueOf'];

const headerPlan = fc.record({
  style: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 64 }) }),
  version: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('', '0', '-1', '999999999999999999999', '1e3', '../1', ' 1', '1.0') },
  ),
  format: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 2, 3) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 99 }) }),
  quality: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 100 }) }, { weight: 1, arbitrary: fc.nat() }),
  // Mostly a small cap, so an input that decodes is cheap to paint.
  maxDimension: fc.oneof({ weight: 6, arbitrary: fc.constant(48) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 15, 16, 0xffffffff) }),
  clientId: fc.oneof({ weight: 4, arbitrary: fc.constant('fuzz') }, { weight: 1, arbitrary: fc.string({ maxLength: 300 }) }),
});

const STREAM_SHAPES = ['valid', 'valid', 'valid', 'chunk-first', 'two-headers', 'header-only', 'empty', 'no-kind', 'garbage-message', 'empty-chunks', 'header-last'] as const;

export const grpcStreamPlan = fc.record({
  via: fc.constant('grpc-stream' as const),
  shape: fc.constantFrom(...STREAM_SHAPES),
  header: headerPlan,
  image: imagePlan,
  chunkBytes: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 4096, max: 128 * 1024 })),
  garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }),
});

export const grpcImagePlan = fc.record({
  via: fc.constant('grpc-image' as const),
  header: fc.option(headerPlan, { freq: 12 }),
  image: imagePlan,
  // Sometimes the request itself is not protobuf, or is cut short.
  corrupt: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ keep: fc.double({ min: 0, max: 1, noNaN: true }) }) }),
});

export const grpcFeedbackPlan = fc.record({
  via: fc.constant('grpc-feedback' as const),
  feedbackId: fc.oneof(fc.constant(''), fc.uuid(), fc.string({ maxLength: 200 })),
  requestId: fc.oneof(fc.constant(''), fc.uuid(), fc.string({ maxLength: 200 })),
  style: fc.oneof(fc.constant(undefined), fc.constantFrom(...HOSTILE_NAMES)),
  version: fc.oneof(fc.constant(undefined), fc.constantFrom('', '0', '999', '../1')),
  rating: fc.integer({ min: -1, max: 5 }),
  reason: fc.string({ maxLength: 2000 }),
  consent: fc.boolean(),
});

const WEB_PATHS = [
  '/nst.v1.StyleService/StylizeImage',
  '/nst.v1.StyleService/StylizeImage',
  '/nst.v1.StyleService/StylizeImage',
  '/nst.v1.StyleService/SubmitFeedback',
  '/nst.v1.StyleService/ListStyles',
  '/nst.v1.StyleService/Stylize',
  '/nst.v1.NoSuchService/Method',
] as const;

export const grpcWebPlan = fc.record({
  via: fc.constant('grpc-web' as const),
  path: fc.constantFrom(...WEB_PATHS),
  mode: fc.constantFrom('binary' as const, 'text' as const),
  contentType: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('application/grpc-web+json', 'text/plain', 'application/grpc', '') }),
  frame: fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('valid' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('bad-length' as const), delta: fc.integer({ min: -5000, max: 5000 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('huge-length' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('flag' as const), flag: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('two-frames' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('empty-body' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('short-prefix' as const), length: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 2048 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bad-base64' as const), text: fc.string({ maxLength: 200 }) }) },
  ),
  header: headerPlan,
  image: imagePlan,
  timeout: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('1m', '0S', '99999999H', 'abc', '-1S') }),
});

export const fuzzPlan = fc.oneof(
  { weight: 4, arbitrary: grpcStreamPlan },
  { weight: 3, arbitrary: grpcImagePlan },
  { weight: 1, arbitrary: grpcFeedbackPlan },
  { weight: 4, arbitrary: grpcWebPlan },
);
export type FuzzPlan = typeof fuzzPlan extends fc.Arbitrary<infer T> ? T : never;

/** The plans of one seeded run, drawn lazily in blocks (10,000 plans would pin their images). */
export function* plans(seed: number, count: number): Generator<FuzzPlan> {
  const block = 200;
  for (let start = 0; start < count; start += block) {
    yield* fc.sample(fuzzPlan, { seed: seed + start, numRuns: Math.min(block, count - start) });
  }
}

// ---------- materialising a plan ----------

export type FuzzInput =
  | { via: 'grpc-stream'; messages: Buffer[] }
  | { via: 'grpc-image'; request: Buffer }
  | { via: 'grpc-feedback'; request: Buffer }
  | { via: 'grpc-web'; path: string; headers: Record<string, string>; body: Buffer | string };

/** Rewrites the declared dimensions: PNG IHDR (with a valid CRC), JPEG SOFn, else a bomb. */
function inflate(bytes: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(bytes);
  if (out.subarray(1, 4).toString('latin1') === 'PNG') {
    out.writeUInt32BE(width >>> 0, 16);
    out.writeUInt32BE(height >>> 0, 20);
    out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
    return out;
  }
  if (out[0] === 0xff && out[1] === 0xd8) {
    for (let i = 2; i + 9 < out.length; ) {
      if (out[i] !== 0xff) break;
      const marker = out[i + 1] ?? 0;
      const length = out.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        out.writeUInt16BE(height & 0xffff, i + 5);
        out.writeUInt16BE(width & 0xffff, i + 7);
        return out;
      }
      i += 2 + length;
    }
    return out;
  }
  return bombPng(Math.max(2, Math.min(width, height, 60_000)));
}

type ImagePlan = typeof imagePlan extends fc.Arbitrary<infer T> ? T : never;

function mutateImage(corpus: Corpus, plan: ImagePlan): Buffer {
  const base = corpus.images[plan.base % corpus.images.length]!.bytes;
  const m = plan.mutation;
  switch (m.kind) {
    case 'none':
      return base;
    case 'bitflip': {
      const out = Buffer.from(base);
      for (const position of m.positions) {
        const bit = position % (out.length * 8);
        out[bit >> 3]! ^= 1 << (bit & 7);
      }
      return out;
    }
    case 'truncate':
      return base.subarray(0, Math.floor(base.length * m.keep));
    case 'inflate':
      return inflate(base, m.width, m.height);
    case 'bomb':
      return bombPng(m.side);
    case 'splice': {
      const at = m.at % (base.length + 1);
      return Buffer.concat([base.subarray(0, at), Buffer.from(m.bytes), base.subarray(at)]);
    }
    case 'garbage':
      return Buffer.from(m.bytes);
    case 'empty':
      return Buffer.alloc(0);
    case 'repeat':
      return Buffer.concat(Array.from({ length: m.times }, () => base));
  }
}

type HeaderPlan = typeof headerPlan extends fc.Arbitrary<infer T> ? T : never;

function header(corpus: Corpus, plan: HeaderPlan): StylizeHeader {
  return {
    style: plan.style ?? corpus.style,
    ...(plan.version !== undefined ? { version: plan.version } : {}),
    format: plan.format as OutputFormat,
    quality: plan.quality >>> 0,
    maxDimension: plan.maxDimension >>> 0,
    clientId: plan.clientId,
  };
}

const encodeStylize = (request: StylizeRequest): Buffer => Buffer.from(StylizeRequest.encode(request).finish());

function frame(flag: number, payload: Buffer, declared = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(Math.max(0, Math.min(declared, 0xffffffff)) >>> 0, 1);
  return Buffer.concat([head, payload]);
}

export function materialise(corpus: Corpus, plan: FuzzPlan): FuzzInput {
  switch (plan.via) {
    case 'grpc-stream': {
      const head = encodeStylize({ kind: { $case: 'header', header: header(corpus, plan.header) } });
      const image = mutateImage(corpus, plan.image);
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < image.length; offset += plan.chunkBytes) {
        chunks.push(encodeStylize({ kind: { $case: 'chunk', chunk: image.subarray(offset, offset + plan.chunkBytes) } }));
      }
      const messages = ((): Buffer[] => {
        switch (plan.shape) {
          case 'valid':
            return [head, ...chunks];
          case 'chunk-first':
            return [...chunks.slice(0, 1), head, ...chunks.slice(1)];
          case 'two-headers':
            return [head, ...chunks.slice(0, 1), head, ...chunks.slice(1)];
          case 'header-only':
            return [head];
          case 'empty':
            return [];
          case 'no-kind':
            return [head, Buffer.alloc(0), ...chunks];
          case 'garbage-message':
            return [head, ...chunks.slice(0, 1), Buffer.from(plan.garbage), ...chunks.slice(1)];
          case 'empty-chunks':
            return [head, encodeStylize({ kind: { $case: 'chunk', chunk: Buffer.alloc(0) } }), ...chunks];
          case 'header-last':
            return [...chunks, head];
        }
      })();
      return { via: 'grpc-stream', messages };
    }
    case 'grpc-image': {
      const request = Buffer.from(
        StylizeImageRequest.encode({
          ...(plan.header ? { header: header(corpus, plan.header) } : {}),
          image: mutateImage(corpus, plan.image),
        }).finish(),
      );
      return { via: 'grpc-image', request: plan.corrupt ? request.subarray(0, Math.floor(request.length * plan.corrupt.keep)) : request };
    }
    case 'grpc-feedback':
      return {
        via: 'grpc-feedback',
        request: Buffer.from(
          SubmitFeedbackRequest.encode({
            feedbackId: plan.feedbackId,
            requestId: plan.requestId,
            style: plan.style ?? corpus.style,
            version: plan.version ?? corpus.version,
            rating: plan.rating as never,
            reason: plan.reason,
            clientId: 'fuzz',
            consentToKeepPhoto: plan.consent,
          }).finish(),
        ),
      };
    case 'grpc-web': {
      const message =
        plan.path === '/nst.v1.StyleService/SubmitFeedback'
          ? Buffer.from(
              SubmitFeedbackRequest.encode(
                SubmitFeedbackRequest.fromPartial({ requestId: 'fuzz', style: corpus.style, version: corpus.version, rating: 2, clientId: 'fuzz' }),
              ).finish(),
            )
          : Buffer.from(StylizeImageRequest.encode({ header: header(corpus, plan.header), image: mutateImage(corpus, plan.image) }).finish());
      const f = plan.frame;
      const body = ((): Buffer | string => {
        switch (f.kind) {
          case 'valid':
            return frame(0, message);
          case 'bad-length':
            return frame(0, message, message.length + (f.delta === 0 ? 1 : f.delta));
          case 'huge-length':
            return frame(0, message, 0xffffffff);
          case 'flag':
            return frame(f.flag, message);
          case 'two-frames':
            return Buffer.concat([frame(0, message), frame(0, message)]);
          case 'empty-body':
            return Buffer.alloc(0);
          case 'short-prefix':
            return frame(0, message).subarray(0, f.length);
          case 'garbage':
            return Buffer.from(f.bytes);
          case 'bad-base64':
            return f.text;
        }
      })();
      const text = plan.mode === 'text';
      const headers: Record<string, string> = {
        'content-type': plan.contentType ?? (text ? 'application/grpc-web-text' : 'application/grpc-web+proto'),
        'x-grpc-web': '1',
        ...(plan.timeout ? { 'grpc-timeout': plan.timeout } : {}),
      };
      return { via: 'grpc-web', path: plan.path, headers, body: text && Buffer.isBuffer(body) ? body.toString('base64') : body };
    }
  }
}

/**
 * The request side of a Stylize stream: exactly one header, then image chunks up to the byte
 * limit, with no pause longer than the idle limit. Resolves the header as soon as it arrives
 * (so the version is resolved and the request admitted while the image is still uploading) and
 * the image once the client half-closes; any breach of the protocol aborts the call with a
 * status that says what to send instead.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { StylizeHeader, StylizeRequest, StylizeResponse } from '@nst/proto';
import { cancelled, deadlineExceeded, formatBytes, invalidArgument, resourceExhausted, type StyleServiceError } from '../service/errors';

export interface UploadLimits {
  /** Largest upload in bytes (NST_MAX_UPLOAD_BYTES). */
  maxUploadBytes: number;
  /** An upload that receives nothing for this long is abandoned (DEADLINE_EXCEEDED). */
  idleMs: number;
}

export interface StylizeUpload {
  header: Promise<StylizeHeader>;
  image: Promise<Uint8Array>;
}

/** Holds a promise's resolve and reject for resolution from stream events. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rejections are delivered through the request's own flow; never leave one unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Reads `call`'s request stream; a breach aborts `controller` with the reason. */
export function receiveUpload(
  call: ServerDuplexStream<StylizeRequest, StylizeResponse>,
  limits: UploadLimits,
  controller: AbortController,
): StylizeUpload {
  const header = deferred<StylizeHeader>();
  const image = deferred<Uint8Array>();
  const chunks: Buffer[] = [];
  let received = 0;
  let sawHeader = false;
  let idleTimer: NodeJS.Timeout | undefined;

  const fail = (error: StyleServiceError): void => void controller.abort(error);
  const armIdleTimer = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(
      () =>
        fail(
          deadlineExceeded(
            `no image data arrived for ${limits.idleMs / 1000} s (received ${formatBytes(received)}); ` +
              'the upload was abandoned, send the whole image without pauses',
          ),
        ),
      limits.idleMs,
    );
  };
  controller.signal.addEventListener('abort', () => {
    clearTimeout(idleTimer);
    header.reject(controller.signal.reason);
    image.reject(controller.signal.reason);
  });

  const onChunk = (chunk: Buffer): void => {
    if (!sawHeader) return fail(invalidArgument('an image chunk arrived before the header; the first message must be the header'));
    received += chunk.length;
    if (received > limits.maxUploadBytes) {
      return fail(
        resourceExhausted(
          `image is over ${formatBytes(limits.maxUploadBytes)} (${formatBytes(received)} received so far); ` +
            `the limit is ${formatBytes(limits.maxUploadBytes)} (NST_MAX_UPLOAD_BYTES)`,
        ),
      );
    }
    chunks.push(chunk);
  };

  armIdleTimer();
  call.on('data', (message: StylizeRequest) => {
    if (controller.signal.aborted) return;
    armIdleTimer();
    const kind = message.kind;
    if (kind?.$case === 'header') {
      if (sawHeader) return fail(invalidArgument('a second header arrived; send exactly one header, then only image chunks'));
      sawHeader = true;
      header.resolve(kind.header);
    } else if (kind?.$case === 'chunk') {
      onChunk(kind.chunk);
    } else {
      fail(invalidArgument('a message carried neither a header nor a chunk'));
    }
  });
  call.on('end', () => {
    clearTimeout(idleTimer);
    if (controller.signal.aborted) return;
    if (!sawHeader) return fail(invalidArgument('the stream ended without a header; send the header first'));
    image.resolve(Buffer.concat(chunks, received));
    chunks.length = 0;
  });
  call.on('error', (error) => fail(cancelled(`the request stream failed: ${error.message}`)));
  return { header: header.promise, image: image.promise };
}

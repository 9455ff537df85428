/**
 * grpc-js handlers of nst.v1.StyleService: they adapt calls (streams, metadata, cancellation,
 * deadlines) to the transport-free request code in ../service and map failures to statuses.
 */
import { once } from 'node:events';
import {
  Metadata,
  status,
  type ServerDuplexStream,
  type Deadline,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type {
  StyleServiceServer,
  StylizeHeader,
  StylizeImageRequest,
  StylizeImageResponse,
  StylizeRequest,
  StylizeResponse,
} from '@nst/proto';
import type { StylizeEventStore } from '@nst/runtime';
import type { StyleCatalog } from '../service/catalog';
import { cancelled, deadlineExceeded, formatBytes, invalidArgument, resourceExhausted, StyleServiceError } from '../service/errors';
import { submitFeedback, type FeedbackSink } from '../service/feedback';
import type { PhotoKeeper } from '../service/photo-keeper';
import type { ServedRequests } from '../service/served-requests';
import { runStylize, type StylizeDeps } from '../service/stylize';

/** What every kind of server call offers (grpc-js does not export its own name for it). */
interface ServerSurfaceCall {
  readonly metadata: Metadata;
  cancelled: boolean;
  getDeadline(): Deadline;
  sendMetadata(metadata: Metadata): void;
  on(event: 'cancelled', listener: () => void): unknown;
}

/** The pino subset the server logs with. */
export interface ServiceLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface StyleHandlerDeps extends StylizeDeps {
  catalog: StyleCatalog;
  photos: PhotoKeeper;
  feedback: FeedbackSink;
  logger: ServiceLogger;
  /** A Stylize upload that receives nothing for this long is abandoned (DEADLINE_EXCEEDED). */
  uploadIdleMs: number;
  /** Which version served each request, for feedback. */
  served: ServedRequests;
  /** Where one event per stylize call goes (release analysis); appends never hold up a call. */
  events?: Pick<StylizeEventStore, 'append'> | undefined;
}

/** Metadata key that pins the serving version (the header field wins when both are set). */
export const VERSION_METADATA_KEY = 'x-nst-version';
/** Metadata key of the caller's client id for sticky routing, used when the header's is empty. */
export const CLIENT_ID_METADATA_KEY = 'x-nst-client-id';

interface GrpcError {
  code: status;
  details: string;
}

function toGrpcError(error: unknown, logger: ServiceLogger, method: string): GrpcError {
  if (error instanceof StyleServiceError) return { code: error.code, details: error.message };
  logger.error({ err: error, method }, 'unexpected failure');
  return { code: status.INTERNAL, details: 'internal error; the failure was logged on the server' };
}

/** Aborts when the call is cancelled by the client or its deadline passes. */
function abortOnCancel(call: ServerSurfaceCall): AbortController {
  const controller = new AbortController();
  call.on('cancelled', () => {
    const deadline = call.getDeadline();
    const expired = deadline instanceof Date ? deadline.getTime() <= Date.now() : deadline !== Infinity && deadline <= Date.now();
    controller.abort(
      expired
        ? deadlineExceeded('the call deadline passed before the image was finished')
        : cancelled('the client cancelled the call'),
    );
  });
  return controller;
}

/** The call's deadline in epoch milliseconds, or undefined when it has none. */
function deadlineOf(call: ServerSurfaceCall): number | undefined {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at : undefined;
}

function metadataVersion(call: ServerSurfaceCall): string | undefined {
  const value = call.metadata.get(VERSION_METADATA_KEY)[0];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Set by the front doors (Envoy from its trusted client address, the gateway from request.ip),
 * overwriting whatever a browser sent: the client's address, which per-client admission counts
 * by. Only Envoy and the gateway reach StyleService in the cluster (AuthorizationPolicy), and
 * it listens on loopback under npm start and compose, so no client writes it directly.
 */
export const CLIENT_ADDRESS_METADATA_KEY = 'x-nst-client-address';

function clientAddress(call: ServerSurfaceCall): string | undefined {
  const value = call.metadata.get(CLIENT_ADDRESS_METADATA_KEY)[0];
  // An address (IPv4, IPv6, optionally bracketed); anything else is ignored.
  return typeof value === 'string' && /^[0-9A-Fa-f.:[\]]{2,64}$/.test(value) ? value : undefined;
}

/** The header with the client id from metadata when the header carries none. */
function withClientId(header: StylizeHeader, call: ServerSurfaceCall): StylizeHeader {
  if (header.clientId) return header;
  const value = call.metadata.get(CLIENT_ID_METADATA_KEY)[0];
  return typeof value === 'string' && value ? { ...header, clientId: value } : header;
}

type ReplyStream = ServerWritableStream<unknown, StylizeResponse> | ServerDuplexStream<unknown, StylizeResponse>;

/** Writes one reply message, waiting for the transport to drain when its buffer is full. */
async function writeReply(call: ReplyStream, message: StylizeResponse, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (!call.write(message)) await once(call, 'drain', { signal });
}

function sendVersionMetadata(call: ServerSurfaceCall, requestId: string, version: string): void {
  const metadata = new Metadata();
  metadata.set(VERSION_METADATA_KEY, version);
  metadata.set('x-nst-request-id', requestId);
  call.sendMetadata(metadata);
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

export function createStyleHandlers(deps: StyleHandlerDeps): StyleServiceServer {
  const { limits, logger } = deps;

  /**
   * Follows one stylize call from its start: once a version is accepted it is remembered for
   * feedback, and when the call ends one serving event (version, gRPC status, latency) is
   * appended. An append that fails is logged, never passed on to the call.
   */
  const trackCall = (call: ServerSurfaceCall) => {
    const startedAt = new Date();
    const started = performance.now();
    let accepted: { requestId: string; style: string; version: string; clientId: string } | undefined;
    return {
      onAccepted: (requestId: string, style: string, version: string, clientId: string): void => {
        accepted = { requestId, style, version, clientId };
        deps.served.record(requestId, style, version);
        sendVersionMetadata(call, requestId, version);
      },
      finish: (code: string): void => {
        if (!accepted || !deps.events) return;
        const event = {
          id: accepted.requestId,
          style: accepted.style,
          version: accepted.version,
          code,
          latencyMs: Math.round((performance.now() - started) * 100) / 100,
          startedAt: startedAt.toISOString(),
          clientId: accepted.clientId,
        };
        deps.events.append(event).catch((err: unknown) => logger.warn({ err, requestId: event.id }, 'serving event not recorded'));
      },
    };
  };

  const finishStylize = (
    call: ReplyStream,
    method: string,
    work: Promise<unknown>,
    controller: AbortController,
    tracker: ReturnType<typeof trackCall>,
  ): void => {
    const started = performance.now();
    work.then(
      (summary) => {
        logger.info({ method, summary, ms: Math.round(performance.now() - started) }, 'stylized');
        tracker.finish('OK');
        call.end();
      },
      (error: unknown) => {
        // After a cancel or deadline grpc-js has already closed the call; report only ours.
        const reason = controller.signal.aborted ? controller.signal.reason : error;
        const grpcError = toGrpcError(reason, logger, method);
        controller.abort(reason);
        logger.warn({ method, code: status[grpcError.code], details: grpcError.details }, 'stylize refused');
        tracker.finish(status[grpcError.code]);
        if (!call.cancelled) call.emit('error', grpcError);
      },
    );
  };

  return {
    listStyles: (_call, callback) => {
      deps.catalog.listStyles().then(
        (styles) =>
          callback(null, {
            styles: styles
              .filter((s) => s.versions.length > 0)
              .map((s) => ({
                id: s.id,
                displayName: s.displayName,
                description: s.description,
                latestVersion: s.versions.at(-1) ?? '',
                versions: s.versions,
              })),
          }),
        (error: unknown) => callback(toGrpcError(error, logger, 'ListStyles')),
      );
    },

    stylize: (call: ServerDuplexStream<StylizeRequest, StylizeResponse>) => {
      const controller = abortOnCancel(call);
      const tracker = trackCall(call);
      const upload = deferred<Uint8Array>();
      const header = deferred<StylizeHeader>();
      const chunks: Buffer[] = [];
      let received = 0;
      let sawHeader = false;
      let idleTimer: NodeJS.Timeout | undefined;
      const fail = (error: StyleServiceError): void => {
        clearTimeout(idleTimer);
        header.reject(error);
        upload.reject(error);
        controller.abort(error);
      };
      const armIdleTimer = (): void => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(
          () =>
            fail(
              deadlineExceeded(
                `no image data arrived for ${deps.uploadIdleMs / 1000} s (received ${formatBytes(received)}); ` +
                  'the upload was abandoned, send the whole image without pauses',
              ),
            ),
          deps.uploadIdleMs,
        );
      };
      controller.signal.addEventListener('abort', () => {
        clearTimeout(idleTimer);
        header.reject(controller.signal.reason);
        upload.reject(controller.signal.reason);
      });
      armIdleTimer();
      call.on('data', (message: StylizeRequest) => {
        if (controller.signal.aborted) return;
        armIdleTimer();
        const kind = message.kind;
        if (kind?.$case === 'header') {
          if (sawHeader) {
            return fail(invalidArgument('a second header arrived; send exactly one header, then only image chunks'));
          }
          sawHeader = true;
          header.resolve(kind.header);
        } else if (kind?.$case === 'chunk') {
          if (!sawHeader) {
            return fail(invalidArgument('an image chunk arrived before the header; the first message must be the header'));
          }
          received += kind.chunk.length;
          if (received > limits.maxUploadBytes) {
            return fail(
              resourceExhausted(
                `image is over ${formatBytes(limits.maxUploadBytes)} (${formatBytes(received)} received so far); ` +
                  `the limit is ${formatBytes(limits.maxUploadBytes)} (NST_MAX_UPLOAD_BYTES)`,
              ),
            );
          }
          chunks.push(kind.chunk);
        } else {
          return fail(invalidArgument('a message carried neither a header nor a chunk'));
        }
      });
      call.on('end', () => {
        clearTimeout(idleTimer);
        if (controller.signal.aborted) return;
        if (!sawHeader) return fail(invalidArgument('the stream ended without a header; send the header first'));
        upload.resolve(Buffer.concat(chunks, received));
        chunks.length = 0;
      });
      call.on('error', (error) => fail(cancelled(`the request stream failed: ${error.message}`)));

      const work = header.promise.then((h) => {
        const checked = withClientId(h, call);
        return runStylize(deps, {
          header: checked,
          metadataVersion: metadataVersion(call),
          upload: upload.promise,
          signal: controller.signal,
          deadline: deadlineOf(call),
          emit: (message) => writeReply(call, message, controller.signal),
          onAccepted: (requestId, style, version) => tracker.onAccepted(requestId, style, version, checked.clientId),
          clientAddress: clientAddress(call),
        });
      });
      finishStylize(call, 'Stylize', work, controller, tracker);
    },

    stylizeImage: (call: ServerWritableStream<StylizeImageRequest, StylizeImageResponse>) => {
      const controller = abortOnCancel(call);
      const tracker = trackCall(call);
      const { header, image } = call.request;
      let work: Promise<unknown>;
      if (!header) {
        work = Promise.reject(invalidArgument('the request has no header; set header.style and the output format'));
      } else if (image.length > limits.maxUploadBytes) {
        work = Promise.reject(
          resourceExhausted(
            `image is ${formatBytes(image.length)}; the limit is ${formatBytes(limits.maxUploadBytes)} (NST_MAX_UPLOAD_BYTES)`,
          ),
        );
      } else {
        const checked = withClientId(header, call);
        work = runStylize(deps, {
          header: checked,
          metadataVersion: metadataVersion(call),
          upload: Promise.resolve(image),
          signal: controller.signal,
          deadline: deadlineOf(call),
          emit: (message) => writeReply(call, message, controller.signal),
          onAccepted: (requestId, style, version) => tracker.onAccepted(requestId, style, version, checked.clientId),
          clientAddress: clientAddress(call),
        });
      }
      finishStylize(call, 'StylizeImage', work, controller, tracker);
    },

    submitFeedback: (call, callback) => {
      submitFeedback({ catalog: deps.catalog, photos: deps.photos, sink: deps.feedback, served: deps.served }, call.request).then(
        (response) => {
          logger.info({ method: 'SubmitFeedback', feedbackId: response.feedbackId, photoKept: response.photoKept }, 'feedback recorded');
          callback(null, response);
        },
        (error: unknown) => callback(toGrpcError(error, logger, 'SubmitFeedback')),
      );
    },
  };
}

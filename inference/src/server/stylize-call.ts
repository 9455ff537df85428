/**
 * One stylize call on the grpc-js side, whichever way its image arrives: cancellation and the
 * deadline become an AbortSignal, the version pin and client id are read from metadata, replies
 * wait for the transport to drain, the serving version goes back in response metadata and is
 * remembered for feedback, and when the call ends it is logged, answered with the right status
 * and recorded as one serving event (version, gRPC status, latency) for the release analysis.
 */
import { once } from 'node:events';
import { Metadata, status, type Deadline, type ServerDuplexStream, type ServerWritableStream } from '@grpc/grpc-js';
import type { StylizeHeader, StylizeResponse } from '@nst/proto';
import type { StylizeEventStore } from '@nst/runtime';
import { cancelled, deadlineExceeded, StyleServiceError } from '../service/errors';
import type { ServedRequests } from '../service/served-requests';
import { runStylize, type StylizeDeps } from '../service/stylize';

/** What every kind of server call offers (grpc-js does not export its own name for it). */
export interface ServerSurfaceCall {
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

/** Metadata key that pins the serving version (the header field wins when both are set). */
export const VERSION_METADATA_KEY = 'x-nst-version';
/** Metadata key of the caller's client id for sticky routing, used when the header's is empty. */
export const CLIENT_ID_METADATA_KEY = 'x-nst-client-id';

export interface StylizeCallDeps extends StylizeDeps {
  logger: ServiceLogger;
  /** Which version served each request, for feedback. */
  served: ServedRequests;
  /** Where one event per stylize call goes (release analysis); appends never hold up a call. */
  events?: Pick<StylizeEventStore, 'append'> | undefined;
}

export interface GrpcError {
  code: status;
  details: string;
}

/** The status a failure answers with: its own for a StyleServiceError, else INTERNAL (logged). */
export function toGrpcError(error: unknown, logger: ServiceLogger, method: string): GrpcError {
  if (error instanceof StyleServiceError) return { code: error.code, details: error.message };
  logger.error({ err: error, method }, 'unexpected failure');
  return { code: status.INTERNAL, details: 'internal error; the failure was logged on the server' };
}

/** Aborts when the call is cancelled by the client or its deadline passes. */
export function abortOnCancel(call: ServerSurfaceCall): AbortController {
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

interface Accepted {
  requestId: string;
  style: string;
  version: string;
  clientId: string;
}

/**
 * Runs one stylize call to its end: `header` and `image` as they arrive (either may reject with
 * the reason the call is refused), replies on `call`, the outcome logged, answered and recorded.
 */
export function serveStylize(
  deps: StylizeCallDeps,
  call: ReplyStream,
  method: string,
  controller: AbortController,
  header: Promise<StylizeHeader>,
  image: Promise<Uint8Array>,
): void {
  const startedAt = new Date();
  const started = performance.now();
  let accepted: Accepted | undefined;
  // A refused call may never read its image; its rejection must not go unhandled.
  image.catch(() => undefined);
  const work = header.then((given) => {
    const checked = withClientId(given, call);
    return runStylize(deps, {
      header: checked,
      metadataVersion: metadataVersion(call),
      upload: image,
      signal: controller.signal,
      deadline: deadlineOf(call),
      emit: (message) => writeReply(call, message, controller.signal),
      clientAddress: clientAddress(call),
      onAccepted: (requestId, style, version) => {
        accepted = { requestId, style, version, clientId: checked.clientId };
        deps.served.record(requestId, style, version);
        const metadata = new Metadata();
        metadata.set(VERSION_METADATA_KEY, version);
        metadata.set('x-nst-request-id', requestId);
        call.sendMetadata(metadata);
      },
    });
  });
  const record = (code: string): void => {
    if (!accepted || !deps.events) return;
    const event = { id: accepted.requestId, style: accepted.style, version: accepted.version, code, clientId: accepted.clientId };
    const timing = { latencyMs: Math.round((performance.now() - started) * 100) / 100, startedAt: startedAt.toISOString() };
    // An append that fails is logged, never passed on to the call.
    deps.events.append({ ...event, ...timing }).catch((err: unknown) => deps.logger.warn({ err, requestId: event.id }, 'serving event not recorded'));
  };
  work.then(
    (summary) => {
      deps.logger.info({ method, summary, ms: Math.round(performance.now() - started) }, 'stylized');
      record('OK');
      call.end();
    },
    (error: unknown) => {
      // After a cancel or deadline grpc-js has already closed the call; report only ours.
      const reason = controller.signal.aborted ? controller.signal.reason : error;
      const grpcError = toGrpcError(reason, deps.logger, method);
      controller.abort(reason);
      deps.logger.warn({ method, code: status[grpcError.code], details: grpcError.details }, 'stylize refused');
      record(status[grpcError.code]);
      if (!call.cancelled) call.emit('error', grpcError);
    },
  );
}

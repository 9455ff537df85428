/**
 * What the fuzzer fires at: StyleService as its own process (inference/src/main.ts, the
 * starter styles in a temporary data folder), so a crash is an exit the fuzzer sees and its
 * resident memory is the server's alone, and the gateway in this process in front of it.
 * Every input gets a deadline; an answer that does not come by deadline + grace is a hang.
 */
import { Client, credentials, Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { startGateway, type RunningGateway } from '@nst/gateway';
import { decodeText, readFrames, TRAILER_FLAG, decodeTrailers } from '@nst/gateway/grpc-web';
import { spawnStyleService, type ServiceProcess } from '@nst/test-kit';
import type { FuzzInput } from './cases';

const identity = (value: Buffer): Buffer => value;

/**
 * A status as the fuzzer counts it. grpc-js answers a request it cannot decode as protobuf
 * with INTERNAL "Error deserializing request" before any handler runs (as gRPC's C++ core
 * does); that is told apart from an INTERNAL of the service's own, which is a bug.
 */
function label(code: number, details: string | null | undefined): string {
  if (code === status.INTERNAL && details?.startsWith('Error deserializing request')) return 'INTERNAL_UNDECODABLE';
  return status[code] ?? String(code);
}

export interface FuzzTarget {
  server: ServiceProcess;
  gateway: RunningGateway;
  send(input: FuzzInput, deadlineMs: number): Promise<string>;
  close(): Promise<void>;
}

export interface FuzzTargetOptions {
  /** Passed to StyleService as NST_* settings. */
  env?: Record<string, string>;
}

export async function startFuzzTarget(options: FuzzTargetOptions = {}): Promise<FuzzTarget> {
  const server = await spawnStyleService({
    NST_INFERENCE_THREADS: '1',
    NST_MAX_UPLOAD_BYTES: String(2 * 1024 * 1024),
    NST_MAX_PIXELS: '4000000',
    NST_QUEUE_LENGTH: '16',
    ...options.env,
  });
  const styleAddr = server.address;
  const gateway = await startGateway({
    config: {
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      styleAddr,
      trainerAddr: '127.0.0.1:1',
      gatewayCorsOrigins: [],
      maxUploadBytes: 2 * 1024 * 1024,
      chunkBytes: 256 * 1024,
    },
    webDist: false,
  });
  const client = new Client(styleAddr, credentials.createInsecure(), {
    // The fuzzer may send what the server refuses; its own client must not refuse first.
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });

  const grpcCall = (input: Exclude<FuzzInput, { via: 'grpc-web' }>, deadline: number): Promise<string> =>
    new Promise((resolve) => {
      const done = (s: StatusObject): void => resolve(label(s.code, s.details));
      const options = { deadline };
      if (input.via === 'grpc-feedback') {
        client.makeUnaryRequest('/nst.v1.StyleService/SubmitFeedback', identity, identity, input.request, new Metadata(), options, () => undefined).on('status', done);
        return;
      }
      if (input.via === 'grpc-image') {
        const call = client.makeServerStreamRequest('/nst.v1.StyleService/StylizeImage', identity, identity, input.request, new Metadata(), options);
        call.on('data', () => undefined);
        call.on('error', () => undefined);
        call.on('status', done);
        return;
      }
      const call = client.makeBidiStreamRequest('/nst.v1.StyleService/Stylize', identity, identity, new Metadata(), options);
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', done);
      for (const message of input.messages) call.write(message);
      call.end();
    });

  const webCall = async (input: Extract<FuzzInput, { via: 'grpc-web' }>, deadlineMs: number): Promise<string> => {
    const response = await fetch(new URL(input.path, gateway.url), {
      method: 'POST',
      headers: input.headers,
      body: typeof input.body === 'string' ? input.body : new Uint8Array(input.body),
      signal: AbortSignal.timeout(deadlineMs),
    });
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) return `HTTP ${response.status}`;
    const headerStatus = response.headers.get('grpc-status');
    if (headerStatus !== null) return label(Number(headerStatus), decodeURIComponent(response.headers.get('grpc-message') ?? ''));
    try {
      const bytes = (response.headers.get('content-type') ?? '').includes('text') ? decodeText(body.toString('latin1')) : body;
      const trailer = readFrames(bytes).find((frame) => frame.flag & TRAILER_FLAG);
      const trailers = trailer ? decodeTrailers(trailer.payload) : undefined;
      const code = trailers?.get('grpc-status');
      return code === undefined ? 'NO_STATUS' : label(Number(code), decodeURIComponent(trailers?.get('grpc-message') ?? ''));
    } catch {
      return 'MALFORMED_REPLY';
    }
  };

  return {
    server,
    gateway,
    send: (input, deadlineMs) => {
      let timer: NodeJS.Timeout | undefined;
      // A deadline the client sets is the server's to honour; the fuzzer waits some more before it calls it a hang.
      const hang = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('HANG'), deadlineMs + 15_000)));
      const answer =
        input.via === 'grpc-web'
          ? webCall(input, deadlineMs).catch((error: unknown) => (error instanceof Error && error.name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : `FETCH_FAILED ${String(error)}`))
          : grpcCall(input, Date.now() + deadlineMs);
      return Promise.race([answer, hang]).finally(() => clearTimeout(timer));
    },
    close: async () => {
      client.close();
      await gateway.close();
      await server.close();
    },
  };
}

/** Runs inputs `concurrency` at a time; returns the histogram of answers. */
export async function runInputs(
  target: FuzzTarget,
  inputs: Iterable<FuzzInput>,
  options: { concurrency: number; deadlineMs: number; onAnswer?: (answer: string, index: number, input: FuzzInput) => void },
): Promise<Map<string, number>> {
  const histogram = new Map<string, number>();
  const iterator = inputs[Symbol.iterator]();
  let index = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (target.server.exited()) return;
      const next = iterator.next();
      if (next.done) return;
      const i = index++;
      const answer = await target.send(next.value, options.deadlineMs);
      const key = `${next.value.via} ${answer.startsWith('FETCH_FAILED') ? 'FETCH_FAILED' : answer}`;
      histogram.set(key, (histogram.get(key) ?? 0) + 1);
      options.onAnswer?.(answer, i, next.value);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return histogram;
}

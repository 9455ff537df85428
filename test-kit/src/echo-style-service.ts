/**
 * A stand-in StyleService for the gateway's tests: its replies are derived from the request, so
 * every assertion checks what crossed the gateway in each direction. StylizeImage streams the
 * input back reversed in `header.quality` steps, one every `header.max_dimension` ms, so
 * deadlines and cancellation have time to act.
 */
import { Metadata, Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import { StyleServiceService, type StyleServiceServer, type StylizeImageRequest, type StylizeImageResponse } from '@nst/proto';
import { HealthImplementation } from 'grpc-health-check';

/** A google.rpc.Status {code: 5, message: "gone"} as protobuf: field 1 varint, field 2 string. */
export const STATUS_DETAILS = Buffer.from([0x08, 0x05, 0x12, 0x04, ...Buffer.from('gone')]);

export interface UpstreamLog {
  metadata: Metadata[];
  cancelled: string[];
  deadlines: number[];
}

export const log: UpstreamLog = { metadata: [], cancelled: [], deadlines: [] };

const upstream: StyleServiceServer = {
  listStyles: (call, callback) => {
    log.metadata.push(call.metadata);
    const header = new Metadata();
    header.set('x-nst-version', 'v7');
    call.sendMetadata(header);
    const trailer = new Metadata();
    trailer.set('x-nst-request-id', 'req-1');
    callback(
      null,
      { styles: [{ id: 'mosaic', displayName: 'Stained glass', description: 'cells', latestVersion: 'v7', versions: ['v7'] }] },
      trailer,
    );
  },
  stylize: (call) => call.emit('error', { code: status.UNIMPLEMENTED, details: 'not in this test' }),
  stylizeImage: (call: ServerWritableStream<StylizeImageRequest, StylizeImageResponse>) => {
    log.metadata.push(call.metadata);
    const deadline = call.getDeadline();
    log.deadlines.push(deadline instanceof Date ? deadline.getTime() : Number(deadline));
    const steps = call.request.header?.quality || 3;
    const delay = call.request.header?.maxDimension || 1;
    const output = Buffer.from(call.request.image).reverse();
    let step = 0;
    call.on('cancelled', () => log.cancelled.push(call.request.header?.clientId ?? ''));
    call.write({ kind: { $case: 'accepted', accepted: { requestId: 'r1', style: 'mosaic', version: 'v7', queuePosition: 0 } } });
    const timer = setInterval(() => {
      if (call.cancelled) return clearInterval(timer);
      step += 1;
      const slice = output.subarray(Math.floor(((step - 1) * output.length) / steps), Math.floor((step * output.length) / steps));
      call.write({ kind: { $case: 'progress', progress: { tilesDone: step, tilesTotal: steps, fraction: step / steps } } });
      call.write({ kind: { $case: 'chunk', chunk: slice } });
      if (step === steps) {
        clearInterval(timer);
        const trailer = new Metadata();
        trailer.set('x-nst-request-id', 'r1');
        call.end(trailer);
      }
    }, delay);
  },
  submitFeedback: (call, callback) => {
    const trailer = new Metadata();
    trailer.set('grpc-status-details-bin', STATUS_DETAILS);
    callback({ code: status.NOT_FOUND, details: `style '${call.request.style}' does not exist — ünknown`, metadata: trailer });
  },
};

export interface EchoUpstream {
  server: Server;
  port: number;
  log: UpstreamLog;
}

/** Starts the echo StyleService (with grpc.health.v1 saying SERVING) on a free port. */
export async function startEchoStyleService(): Promise<EchoUpstream> {
  const server = new Server();
  server.addService(StyleServiceService, upstream);
  new HealthImplementation({ 'nst.v1.StyleService': 'SERVING' }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, port, log };
}

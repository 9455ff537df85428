/** Test-side helpers that drive StyleService through the generated ts-proto client. */
import { createHash } from 'node:crypto';
import { credentials, Metadata, type ServiceError, type ClientDuplexStream } from '@grpc/grpc-js';
import {
  OutputFormat,
  StyleServiceClient,
  type StylizeHeader,
  type StylizeImageResponse,
  type StylizeRequest,
  type StylizeResponse,
  type StylizeSummary,
  type SubmitFeedbackRequest,
  type SubmitFeedbackResponse,
  type ListStylesResponse,
} from '@nst/proto';

/** A StyleService client of a port on 127.0.0.1, or of a host:port. */
export function connect(target: number | string): StyleServiceClient {
  return new StyleServiceClient(typeof target === 'number' ? `127.0.0.1:${target}` : target, credentials.createInsecure());
}

export interface StylizeOutcome {
  messages: Array<StylizeResponse | StylizeImageResponse>;
  /** The concatenated output chunks. */
  output: Buffer;
  summary: StylizeSummary | undefined;
  /** Set when the call ended with a non-OK status. */
  error: ServiceError | undefined;
  /** Initial response metadata. */
  metadata: Metadata | undefined;
}

export function header(style: string, overrides: Partial<StylizeHeader> = {}): StylizeHeader {
  return { style, format: OutputFormat.OUTPUT_FORMAT_PNG, quality: 0, maxDimension: 0, clientId: 'test-client', ...overrides };
}

function collect(call: NodeJS.EventEmitter): Promise<StylizeOutcome> {
  const messages: StylizeOutcome['messages'] = [];
  let metadata: Metadata | undefined;
  call.on('metadata', (m: Metadata) => (metadata = m));
  call.on('data', (m: StylizeResponse) => messages.push(m));
  return new Promise((resolve) => {
    const finish = (error?: ServiceError): void => {
      const chunks = messages.flatMap((m) => (m.kind?.$case === 'chunk' ? [m.kind.chunk] : []));
      const last = messages.at(-1)?.kind;
      resolve({
        messages,
        output: Buffer.concat(chunks),
        summary: last?.$case === 'summary' ? last.summary : undefined,
        error,
        metadata,
      });
    };
    call.on('error', (e: ServiceError) => finish(e));
    call.on('end', () => finish());
  });
}

export interface StreamOptions {
  metadata?: Metadata;
  deadlineMs?: number;
  /** Leave the request stream open after the messages (a client that goes silent). */
  keepOpen?: boolean;
}

/** Opens a Stylize call, writes `requests`, half-closes (unless keepOpen) and collects the reply. */
export function stylizeStream(
  client: StyleServiceClient,
  requests: StylizeRequest[],
  options: StreamOptions = {},
): { call: ClientDuplexStream<StylizeRequest, StylizeResponse>; outcome: Promise<StylizeOutcome> } {
  const callOptions = options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {};
  const call = client.stylize(options.metadata ?? new Metadata(), callOptions);
  const outcome = collect(call);
  for (const request of requests) call.write(request);
  if (!options.keepOpen) call.end();
  return { call, outcome };
}

/** The request messages for an image: the header, then chunks of `chunkBytes`. */
export function uploadMessages(head: StylizeHeader, image: Uint8Array, chunkBytes = 64 * 1024): StylizeRequest[] {
  const messages: StylizeRequest[] = [{ kind: { $case: 'header', header: head } }];
  for (let offset = 0; offset < image.length; offset += chunkBytes) {
    messages.push({ kind: { $case: 'chunk', chunk: Buffer.from(image.subarray(offset, offset + chunkBytes)) } });
  }
  return messages;
}

export function stylize(
  client: StyleServiceClient,
  head: StylizeHeader,
  image: Uint8Array,
  options: StreamOptions = {},
): Promise<StylizeOutcome> {
  return stylizeStream(client, uploadMessages(head, image), options).outcome;
}

export function stylizeImage(
  client: StyleServiceClient,
  head: StylizeHeader,
  image: Uint8Array,
  options: StreamOptions = {},
): Promise<StylizeOutcome> {
  const callOptions = options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {};
  return collect(client.stylizeImage({ header: head, image: Buffer.from(image) }, options.metadata ?? new Metadata(), callOptions));
}

export function listStyles(client: StyleServiceClient): Promise<ListStylesResponse> {
  return new Promise((resolve, reject) => client.listStyles({}, (e, r) => (e ? reject(e) : resolve(r))));
}

export function submitFeedback(
  client: StyleServiceClient,
  request: Partial<SubmitFeedbackRequest>,
): Promise<SubmitFeedbackResponse> {
  const full: SubmitFeedbackRequest = {
    feedbackId: '',
    requestId: '',
    style: '',
    version: '',
    rating: 0,
    reason: '',
    clientId: 'test-client',
    consentToKeepPhoto: false,
    ...request,
  };
  return new Promise((resolve, reject) => client.submitFeedback(full, (e, r) => (e ? reject(e) : resolve(r))));
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

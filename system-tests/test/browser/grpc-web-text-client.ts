/**
 * Browser bundle for the interop test: Google's grpc-web runtime (an implementation
 * independent of this project and of nice-grpc-web) in text mode, application/grpc-web-text,
 * which buf curl cannot speak. Messages are encoded with the web app's generated codecs.
 * Exposed as window.grpcWebText; the test builds this file with Vite and injects it.
 */
import { GrpcWebClientBase, MethodDescriptor, MethodType, type RpcError } from 'grpc-web';
import {
  ListStylesRequest,
  ListStylesResponse,
  StylizeImageRequest,
  StylizeImageResponse,
} from '@nst/web/gen/nst/v1/style_service';

// grpc-web only uses the constructors for typing; the (de)serializers do the work.
const Message = Object as unknown as new () => never;

const listStyles = new MethodDescriptor(
  '/nst.v1.StyleService/ListStyles',
  MethodType.UNARY,
  Message,
  Message,
  (request: ListStylesRequest) => ListStylesRequest.encode(request).finish(),
  (bytes: Uint8Array) => ListStylesResponse.decode(bytes),
);

const stylizeImage = new MethodDescriptor(
  '/nst.v1.StyleService/StylizeImage',
  MethodType.SERVER_STREAMING,
  Message,
  Message,
  (request: StylizeImageRequest) => StylizeImageRequest.encode(request).finish(),
  (bytes: Uint8Array) => StylizeImageResponse.decode(bytes),
);

const client = new GrpcWebClientBase({ format: 'text' });

export interface TextModeStylize {
  kinds: string[];
  outputBytes: number;
  summaryBytes: number;
  status: number;
  headers: Record<string, string>;
}

const api = {
  /** Unary ListStyles: the style ids. */
  listStyles: (): Promise<string[]> =>
    new Promise((resolve, reject) => {
      client.rpcCall(`${location.origin}/nst.v1.StyleService/ListStyles`, {}, {}, listStyles, (error: RpcError, response: ListStylesResponse) =>
        error ? reject(new Error(`${error.code}: ${error.message}`)) : resolve(response.styles.map((style) => style.id)),
      );
    }),

  /** Server-streaming StylizeImage of base64 image bytes: what arrived, in order. */
  stylize: (style: string, imageBase64: string): Promise<TextModeStylize> =>
    new Promise((resolve, reject) => {
      const image = Uint8Array.from(atob(imageBase64), (char) => char.charCodeAt(0));
      const request: StylizeImageRequest = { header: { style, format: 1, quality: 0, maxDimension: 0, clientId: 'grpc-web-text' }, image };
      const result: TextModeStylize = { kinds: [], outputBytes: 0, summaryBytes: -1, status: -1, headers: {} };
      const stream = client.serverStreaming(`${location.origin}/nst.v1.StyleService/StylizeImage`, request, {}, stylizeImage);
      stream.on('metadata', (headers) => Object.assign(result.headers, headers));
      stream.on('data', (message: StylizeImageResponse) => {
        const kind = message.kind;
        if (!kind) return;
        result.kinds.push(kind.$case);
        if (kind.$case === 'chunk') result.outputBytes += kind.chunk.length;
        if (kind.$case === 'summary') result.summaryBytes = kind.summary.outputBytes;
      });
      stream.on('status', (status) => (result.status = status.code));
      stream.on('error', (error) => reject(new Error(`${error.code}: ${error.message}`)));
      stream.on('end', () => resolve(result));
    }),
};

(window as unknown as { grpcWebText: typeof api }).grpcWebText = api;

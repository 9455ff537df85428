/**
 * grpc-js handlers of nst.v1.StyleService: they adapt calls (streams, metadata, cancellation,
 * deadlines) to the transport-free request code in ../service and map failures to statuses.
 * A stylize call's life is in stylize-call.ts, the Stylize request stream in stylize-upload.ts.
 */
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import type { ListStylesResponse, StyleServiceServer, StylizeImageRequest, StylizeImageResponse, StylizeRequest, StylizeResponse } from '@nst/proto';
import type { CatalogStyle, StyleCatalog } from '../service/catalog';
import { formatBytes, invalidArgument, resourceExhausted } from '../service/errors';
import { submitFeedback, type FeedbackSink } from '../service/feedback';
import type { PhotoKeeper } from '../service/photo-keeper';
import { abortOnCancel, serveStylize, toGrpcError, type StylizeCallDeps } from './stylize-call';
import { receiveUpload } from './stylize-upload';

export { CLIENT_ADDRESS_METADATA_KEY, CLIENT_ID_METADATA_KEY, VERSION_METADATA_KEY, type ServiceLogger } from './stylize-call';

export interface StyleHandlerDeps extends StylizeCallDeps {
  catalog: StyleCatalog;
  photos: PhotoKeeper;
  feedback: FeedbackSink;
  /** A Stylize upload that receives nothing for this long is abandoned (DEADLINE_EXCEEDED). */
  uploadIdleMs: number;
}

/** The styles that can be served (those with a version), latest version last. */
function listed(styles: CatalogStyle[]): ListStylesResponse {
  return {
    styles: styles
      .filter((s) => s.versions.length > 0)
      .map((s) => ({ id: s.id, displayName: s.displayName, description: s.description, latestVersion: s.versions.at(-1) ?? '', versions: s.versions })),
  };
}

/** StylizeImage's one request, checked before any work: the header is there and the image within the limit. */
function checkedImageRequest(request: StylizeImageRequest, maxUploadBytes: number): StylizeImageRequest & { header: NonNullable<StylizeImageRequest['header']> } {
  const { header, image } = request;
  if (!header) throw invalidArgument('the request has no header; set header.style and the output format');
  if (image.length > maxUploadBytes) {
    throw resourceExhausted(`image is ${formatBytes(image.length)}; the limit is ${formatBytes(maxUploadBytes)} (NST_MAX_UPLOAD_BYTES)`);
  }
  return { header, image };
}

export function createStyleHandlers(deps: StyleHandlerDeps): StyleServiceServer {
  const { limits, logger } = deps;
  return {
    listStyles: (_call, callback) => {
      deps.catalog.listStyles().then(
        (styles) => callback(null, listed(styles)),
        (error: unknown) => callback(toGrpcError(error, logger, 'ListStyles')),
      );
    },

    stylize: (call: ServerDuplexStream<StylizeRequest, StylizeResponse>) => {
      const controller = abortOnCancel(call);
      const upload = receiveUpload(call, { maxUploadBytes: limits.maxUploadBytes, idleMs: deps.uploadIdleMs }, controller);
      serveStylize(deps, call, 'Stylize', controller, upload.header, upload.image);
    },

    stylizeImage: (call: ServerWritableStream<StylizeImageRequest, StylizeImageResponse>) => {
      const controller = abortOnCancel(call);
      const request = new Promise<ReturnType<typeof checkedImageRequest>>((resolve) => resolve(checkedImageRequest(call.request, limits.maxUploadBytes)));
      serveStylize(
        deps,
        call,
        'StylizeImage',
        controller,
        request.then((r) => r.header),
        request.then((r) => r.image),
      );
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

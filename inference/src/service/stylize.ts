/**
 * One stylize request from header to summary, independent of how the bytes arrive (a chunked
 * Stylize stream or a single StylizeImage request):
 *
 *   header checks -> version resolution -> admission (or RESOURCE_EXHAUSTED) -> accepted
 *   -> upload complete (byte limit enforced by the transport as chunks arrive)
 *   -> header-only pixel check (decompression bombs) -> wait for an inference slot
 *   -> decode (EXIF upright, alpha flattened, size cap) -> tiles with progress -> encode
 *   -> output chunks -> summary (timings, SHA-256).
 *
 * Cancellation (client cancel or deadline) aborts `signal`: a queued request leaves the queue,
 * a running one stops after the tile in flight, and its slot is freed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { OutputFormat, type StylizeHeader, type StylizeResponse, type StylizeSummary } from '@nst/proto';
import { SPAN_ATTRIBUTES as A, annotateActiveSpan, platformMetrics, precisionToProto, withSpan, type Precision } from '@nst/runtime';
import { decodeImage, downscaleRgb, encodeImage, inspectImage, CONTENT_TYPES, type ImageFormat } from '../pipeline/image-codec';
import { countTiles, stylizeTiled, type RgbImage, type StyleRunner } from '../pipeline/tiling';
import type { AdmissionQueue } from './admission-queue';
import type { VersionResolver } from './catalog';
import { invalidArgument } from './errors';
import type { DisposableModel, ModelCache } from './model-cache';
import type { PhotoKeeper } from './photo-keeper';

export interface StylizeLimits {
  /** Largest upload in bytes (NST_MAX_UPLOAD_BYTES). */
  maxUploadBytes: number;
  /** Largest image in pixels, checked from the header before decoding (NST_MAX_PIXELS). */
  maxPixels: number;
  /** Size of each output chunk in bytes (NST_CHUNK_BYTES). */
  chunkBytes: number;
  /** Side of the square inference tiles (NST_TILE_SIZE). */
  tileSize: number;
  /** Overlap between neighbouring tiles (NST_TILE_OVERLAP). */
  tileOverlap: number;
  /** Tiles of one image run at once across the model's sessions (NST_TILES_IN_FLIGHT); default 1. */
  tilesInFlight?: number;
  /**
   * Longest side of the thumbnail whose instance-norm statistics every tile of a multi-tile
   * image uses (NST_NORM_THUMBNAIL); 0 or absent: each tile its own statistics.
   */
  normThumbnail?: number;
}

export type LoadedStyleModel = StyleRunner &
  DisposableModel & {
    /** A runner for tiles normalised by the thumbnail's statistics (engine/thumbnail-norm.ts). */
    forThumbnail?(thumbnail: RgbImage): Promise<StyleRunner>;
    /** The precision the network computes in (the summary names it); FP32 when absent. */
    readonly precision?: Precision;
  };

export interface StylizeDeps {
  limits: StylizeLimits;
  queue: AdmissionQueue;
  resolver: VersionResolver;
  models: ModelCache<LoadedStyleModel>;
  photos: PhotoKeeper;
}

export interface StylizeCall {
  header: StylizeHeader;
  /** Version pinned through the x-nst-version metadata key, if any. */
  metadataVersion?: string | undefined;
  /** Resolves with the complete upload once the client has sent it all. */
  upload: Promise<Uint8Array>;
  signal: AbortSignal;
  /** When the call's deadline passes (epoch milliseconds); undefined for none. */
  deadline?: number | undefined;
  /** Sends one reply message; resolves when the transport can take more. */
  emit(message: StylizeResponse): Promise<void>;
  /** Called once the request is admitted, before anything is sent. */
  onAccepted?(requestId: string, style: string, version: string): void;
  /**
   * The client's address as a front door (Envoy, the gateway) determined it, when the call
   * came through one: per-client admission counts by it instead of the client id, which the
   * client chooses (and could change per call to take every place in the queue).
   */
  clientAddress?: string | undefined;
}

const FORMATS: Partial<Record<OutputFormat, ImageFormat>> = {
  [OutputFormat.OUTPUT_FORMAT_UNSPECIFIED]: 'jpeg',
  [OutputFormat.OUTPUT_FORMAT_JPEG]: 'jpeg',
  [OutputFormat.OUTPUT_FORMAT_PNG]: 'png',
  [OutputFormat.OUTPUT_FORMAT_WEBP]: 'webp',
};

/** Smallest accepted size cap: anything smaller cannot be a useful picture. */
const MIN_DIMENSION = 16;
const MAX_ID_LENGTH = 200;

interface CheckedHeader {
  style: string;
  pinnedVersion: string | undefined;
  format: ImageFormat;
  quality: number;
  maxDimension: number;
  clientId: string;
}

/** Validates a header; INVALID_ARGUMENT with the reason otherwise. */
export function checkHeader(header: StylizeHeader, metadataVersion?: string): CheckedHeader {
  const style = header.style.trim();
  if (!style) throw invalidArgument('the request names no style; pick one from the list of styles (header.style)');
  const format = FORMATS[header.format];
  if (!format) {
    throw invalidArgument(`output format ${header.format} is unknown; use OUTPUT_FORMAT_JPEG, _PNG or _WEBP`);
  }
  if (header.quality > 100) throw invalidArgument(`quality ${header.quality} is out of range; use 1 to 100, or 0 for the default`);
  if (header.maxDimension > 0 && header.maxDimension < MIN_DIMENSION) {
    throw invalidArgument(
      `max_dimension ${header.maxDimension} is too small; use 0 (no cap) or at least ${MIN_DIMENSION} pixels`,
    );
  }
  if (header.clientId.length > MAX_ID_LENGTH) {
    throw invalidArgument(`client_id is ${header.clientId.length} characters; the limit is ${MAX_ID_LENGTH}`);
  }
  const pinned = header.version?.trim() || metadataVersion?.trim() || undefined;
  return { style, pinnedVersion: pinned, format, quality: header.quality, maxDimension: header.maxDimension, clientId: header.clientId };
}

/** Pixels the network will run on: the declared size, after the optional max_dimension cap. */
function outputPixels(width: number, height: number, maxDimension: number): number {
  const scale = maxDimension > 0 ? Math.min(1, maxDimension / Math.max(width, height, 1)) : 1;
  return Math.round(width * scale) * Math.round(height * scale);
}

const since = (start: number): number => Math.round((performance.now() - start) * 100) / 100;

/** Runs one stylize request, emitting its reply stream; throws StyleServiceError on refusal. */
export async function runStylize(deps: StylizeDeps, call: StylizeCall): Promise<StylizeSummary> {
  const { limits, queue, resolver, models, photos } = deps;
  const header = checkHeader(call.header, call.metadataVersion);
  const version = await resolver.resolve({
    style: header.style,
    pinnedVersion: header.pinnedVersion,
    clientId: header.clientId,
  });
  call.signal.throwIfAborted();
  const metrics = platformMetrics();
  // Sampled at every change this request makes, so the gauges follow the queue.
  const sampleQueue = (): void => {
    metrics.queueDepth.set(queue.queued);
    metrics.inferenceInFlight.set(queue.active);
  };
  const ticket = call.clientAddress ? queue.admit(`address:${call.clientAddress}`, `the client at ${call.clientAddress}`) : queue.admit(header.clientId);
  sampleQueue();
  try {
    const requestId = randomUUID();
    // The gRPC server span (grpc instrumentation) carries what the request is about.
    annotateActiveSpan({
      [A.style]: header.style,
      [A.version]: version,
      [A.requestId]: requestId,
      [A.queuePosition]: ticket.position,
    });
    call.onAccepted?.(requestId, header.style, version);
    await call.emit({
      kind: {
        $case: 'accepted',
        accepted: { requestId, style: header.style, version, queuePosition: ticket.position },
      },
    });

    const bytes = await call.upload;
    let decodeStart = performance.now();
    const declared = await inspectImage(bytes, limits.maxPixels);
    let decodeMs = since(decodeStart);
    // Refuses a request that cannot finish before its deadline behind the queued work.
    ticket.declare(outputPixels(declared.width, declared.height, header.maxDimension), call.deadline);
    photos.hold(requestId, { bytes, format: declared.format, style: header.style, version });

    const queueStart = performance.now();
    await withSpan('queue wait', { [A.queueDepth]: queue.queued, [A.queuePosition]: ticket.position }, () => ticket.acquire(call.signal));
    const queueMs = since(queueStart);
    sampleQueue();

    decodeStart = performance.now();
    const image = await withSpan('decode', { [A.bytes]: bytes.length, [A.format]: declared.format }, async (span) => {
      const decoded = await decodeImage(bytes, { maxPixels: limits.maxPixels, maxDimension: header.maxDimension });
      span.setAttributes({ [A.width]: decoded.width, [A.height]: decoded.height, [A.pixels]: decoded.width * decoded.height });
      return decoded;
    });
    decodeMs += since(decodeStart);
    call.signal.throwIfAborted();
    // The network's reflect padding needs a few pixels per side; a sliver or a dot would fail
    // inside ONNX Runtime as INTERNAL (found by the fuzzer: a PNG declaring 60066 x 0 decoded
    // to a few pixels).
    if (image.width < MIN_DIMENSION || image.height < MIN_DIMENSION) {
      throw invalidArgument(
        `the image is ${image.width}x${image.height} pixels${header.maxDimension > 0 ? ` after the max_dimension cap of ${header.maxDimension}` : ''}; ` +
          `both sides must be at least ${MIN_DIMENSION} pixels`,
      );
    }

    const inferenceStart = performance.now();
    const tilesTotal = countTiles(image.width, image.height, limits.tileSize, limits.tileOverlap);
    const inferenceAttributes = {
      [A.style]: header.style,
      [A.version]: version,
      [A.pixels]: image.width * image.height,
      [A.tiles]: tilesTotal,
    };
    let precision: Precision = 'fp32';
    const painted = await withSpan('inference', inferenceAttributes, () => models.use(header.style, version, async (model) => {
      precision = model.precision ?? 'fp32';
      // Instance norms take their statistics from what they see: measured once on the whole
      // photo shrunk, they keep the tiles in one tone (engine/thumbnail-norm.ts).
      const runner =
        limits.normThumbnail && tilesTotal > 1 && model.forThumbnail
          ? await withSpan('thumbnail statistics', { [A.tiles]: tilesTotal }, async () =>
              (model.forThumbnail as NonNullable<typeof model.forThumbnail>)(
                await downscaleRgb(image.pixels, image.width, image.height, limits.normThumbnail as number),
              ),
            )
          : model;
      call.signal.throwIfAborted();
      return stylizeTiled(runner, image.pixels, image.width, image.height, {
        tileSize: limits.tileSize,
        overlap: limits.tileOverlap,
        tilesInFlight: limits.tilesInFlight,
        signal: call.signal,
        onTile: (done) =>
          call.emit({
            kind: {
              $case: 'progress',
              progress: { tilesDone: done, tilesTotal, fraction: done / tilesTotal },
            },
          }),
      });
    }));
    const inferenceMs = since(inferenceStart);
    metrics.inferenceSeconds.observe({ style: header.style, version }, inferenceMs / 1000);
    call.signal.throwIfAborted();

    const encodeStart = performance.now();
    const output = await withSpan('encode', { [A.format]: header.format, [A.pixels]: image.width * image.height }, async (span) => {
      const encoded = await encodeImage(painted, image.width, image.height, header.format, header.quality);
      span.setAttribute(A.outputBytes, encoded.length);
      return encoded;
    });
    const encodeMs = since(encodeStart);
    // The slot covers decode, inference and encode; streaming the result out does not need it.
    ticket.release(true);
    sampleQueue();

    for (let offset = 0; offset < output.length; offset += limits.chunkBytes) {
      call.signal.throwIfAborted();
      await call.emit({ kind: { $case: 'chunk', chunk: output.subarray(offset, offset + limits.chunkBytes) } });
    }
    const summary: StylizeSummary = {
      width: image.width,
      height: image.height,
      style: header.style,
      version,
      decodeMs,
      queueMs,
      inferenceMs,
      encodeMs,
      contentType: CONTENT_TYPES[header.format],
      sha256: createHash('sha256').update(output).digest('hex'),
      outputBytes: output.length,
      requestId,
      precision: precisionToProto(precision),
    };
    await call.emit({ kind: { $case: 'summary', summary } });
    return summary;
  } finally {
    ticket.release();
    sampleQueue();
  }
}

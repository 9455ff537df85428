/**
 * One painting over StyleService's StylizeImage server stream: the photo goes up in one
 * request (gRPC-Web has no client streaming), and each reply moves the progress on (accepted or
 * queued, tiles painted, bytes received) until the summary; the image is checked against the
 * summary's SHA-256 before it is shown.
 */
import { callMetadata, clientId, styleService } from './api';
import { formatBytes } from './format';
import type { OutputFormat, StylizeSummary } from './gen/nst/v1/style_service';

export interface PaintRequest {
  photo: File;
  style: string;
  styleName: string;
  format: OutputFormat;
  /** Longest side of the result; 0 for full resolution. */
  maxDimension: number;
}

export interface Painting {
  blob: Blob;
  summary: StylizeSummary;
}

/** Where the painting is: a fraction of the whole and a sentence for the page. */
export type OnProgress = (fraction: number, text: string) => void;

/** Lower-case hex SHA-256, when the page may use WebCrypto (secure contexts, localhost). */
async function sha256Hex(blob: Blob): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Paints `request.photo`; rejects with the call's error, or when the image is missing or damaged. */
export async function paintPhoto(request: PaintRequest, signal: AbortSignal, onProgress: OnProgress): Promise<Painting> {
  const { style } = request;
  const chunks: Uint8Array[] = [];
  let received = 0;
  let fraction = 0;
  let summary: StylizeSummary | undefined;
  const image = new Uint8Array(await request.photo.arrayBuffer());
  const replies = styleService.stylizeImage(
    { header: { style, format: request.format, quality: 0, maxDimension: request.maxDimension, clientId: clientId() }, image },
    // In the cluster Istio routes on headers only, so the style travels as metadata too.
    { signal, metadata: callMetadata({ deadlineSeconds: 600, style }) },
  );
  for await (const reply of replies) {
    const kind = reply.kind;
    if (!kind) continue;
    switch (kind.$case) {
      case 'accepted':
        fraction = 0.05;
        onProgress(
          fraction,
          kind.accepted.queuePosition > 0
            ? `Waiting for a free painter (${kind.accepted.queuePosition} ahead of you)…`
            : `Painting with ${request.styleName} (version ${kind.accepted.version})…`,
        );
        break;
      case 'progress':
        fraction = 0.05 + 0.85 * kind.progress.fraction;
        onProgress(fraction, `Painting… ${kind.progress.tilesDone} of ${kind.progress.tilesTotal} tiles`);
        break;
      case 'chunk':
        chunks.push(kind.chunk);
        received += kind.chunk.length;
        fraction = Math.max(fraction, 0.92);
        onProgress(fraction, `Receiving the painting… ${formatBytes(received)}`);
        break;
      case 'summary':
        summary = kind.summary;
        break;
    }
  }
  if (!summary) throw new Error('the server ended the reply without the finished image');
  const blob = new Blob(chunks as BlobPart[], { type: summary.contentType });
  const digest = await sha256Hex(blob);
  if (digest !== undefined && digest !== summary.sha256) {
    throw new Error('the image arrived damaged (its checksum does not match); please try again');
  }
  return { blob, summary };
}

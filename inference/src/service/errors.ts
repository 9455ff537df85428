/**
 * Failures a StyleService client can act on. Every error the pipeline raises on purpose is a
 * StyleServiceError carrying its gRPC status code and a message written for a person; the
 * server turns anything else into INTERNAL without leaking internals.
 */
import { status } from '@grpc/grpc-js';

export class StyleServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'StyleServiceError';
  }
}

export const invalidArgument = (message: string): StyleServiceError =>
  new StyleServiceError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string): StyleServiceError => new StyleServiceError(status.NOT_FOUND, message);
export const resourceExhausted = (message: string): StyleServiceError =>
  new StyleServiceError(status.RESOURCE_EXHAUSTED, message);
export const deadlineExceeded = (message: string): StyleServiceError =>
  new StyleServiceError(status.DEADLINE_EXCEEDED, message);
export const cancelled = (message: string): StyleServiceError => new StyleServiceError(status.CANCELLED, message);

/** "31.2 MB" style sizes (decimal megabytes, as people read file sizes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** "12.0 MP" style pixel counts. */
export function formatPixels(pixels: number): string {
  return `${(pixels / 1_000_000).toFixed(1)} MP`;
}

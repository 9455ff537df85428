/**
 * StyleService's failures are the platform's ServiceError (@nst/runtime); this module adds the
 * size wording its messages use.
 */
export {
  ServiceError as StyleServiceError,
  cancelled,
  deadlineExceeded,
  invalidArgument,
  notFound,
  resourceExhausted,
  unavailable,
} from '@nst/runtime';

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

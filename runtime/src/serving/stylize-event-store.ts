/**
 * Serving events: one record per stylize call that resolved a version, with the gRPC status it
 * ended with and how long it took. The release analysis (mesh) compares a canary's errors and
 * latency with the stable version's from these. StylizeEventStore is what services code
 * against; the embedded JSON-lines store implements it here, and an Elasticsearch-backed one
 * can slot in behind the same calls.
 */
import { z } from 'zod';
import { StyleIdSchema, VERSION_PATTERN } from '../registry/schema';

/** gRPC statuses that are the server's fault: they count against the version that served. */
export const SERVER_FAULT_CODES: ReadonlySet<string> = new Set(['INTERNAL', 'UNKNOWN', 'UNAVAILABLE', 'DATA_LOSS', 'DEADLINE_EXCEEDED']);

/** Whether a gRPC status name counts as a serving error (client mistakes and refusals do not). */
export function isServerFault(code: string): boolean {
  return SERVER_FAULT_CODES.has(code);
}

export const StylizeEventSchema = z.object({
  /** The stylize request id (from its accepted message and summary); unique per call. */
  id: z.string().min(1).max(200),
  style: StyleIdSchema,
  /** The version that served (or was to serve) the call, in its wire form. */
  version: z.string().regex(VERSION_PATTERN, 'versions are whole numbers from 1, in decimal'),
  /** The gRPC status name the call ended with: 'OK', 'INTERNAL', 'CANCELLED', ... */
  code: z.string().regex(/^[A-Z_]+$/, 'codes are gRPC status names such as OK or INTERNAL'),
  /** Server-side time from accepting the call to its end, in milliseconds. */
  latencyMs: z.number().nonnegative(),
  /** When the call started (ISO 8601, UTC). */
  startedAt: z.iso.datetime(),
  /** The caller's client id; may be empty. */
  clientId: z.string().max(200),
});
export type StylizeEvent = z.infer<typeof StylizeEventSchema>;

export interface StylizeEventFilter {
  style: string;
  version: string;
  /** Calls that started at or after. */
  since?: Date;
  /** Calls that started before. */
  until?: Date;
}

export interface StylizeStats {
  /** Calls answered, any status. */
  requests: number;
  /** Calls that ended with a server-fault status (SERVER_FAULT_CODES). */
  errors: number;
  /** Calls per gRPC status name. */
  byCode: Record<string, number>;
  /** 95th percentile of latencyMs (nearest rank); 0 with no calls. */
  p95LatencyMs: number;
}

export interface StylizeEventStore {
  /** Records one call; resolves once stored. Callers on the serving path must not wait on or fail with it. */
  append(event: StylizeEvent): Promise<void>;
  /** Counts over one version's calls within the window. */
  stats(filter: StylizeEventFilter): Promise<StylizeStats>;
  close(): Promise<void>;
}

export function matchesEvent(event: StylizeEvent, filter: StylizeEventFilter): boolean {
  if (event.style !== filter.style || event.version !== filter.version) return false;
  const at = Date.parse(event.startedAt);
  if (filter.since !== undefined && at < filter.since.getTime()) return false;
  if (filter.until !== undefined && at >= filter.until.getTime()) return false;
  return true;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export function stylizeStatsOf(events: Iterable<StylizeEvent>): StylizeStats {
  const byCode: Record<string, number> = {};
  const latencies: number[] = [];
  let errors = 0;
  for (const event of events) {
    byCode[event.code] = (byCode[event.code] ?? 0) + 1;
    latencies.push(event.latencyMs);
    if (isServerFault(event.code)) errors++;
  }
  return { requests: latencies.length, errors, byCode, p95LatencyMs: percentile(latencies, 95) };
}

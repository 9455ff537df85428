/**
 * Per-client rate limit at the gateway (@fastify/rate-limit), keyed by the client's address:
 * the connection's, or with NST_GATEWAY_TRUSTED_HOPS proxies in front, the address the last
 * of them saw (request.ip; entries a client wrote into x-forwarded-for itself are never
 * trusted). In the cluster Envoy applies the same limit per client first (gateway/envoy).
 * It runs on request, before the
 * body is read, so a flood costs the gateway no upload parsing and the services no work.
 * Probes and scrapes (/healthz, /readyz, /metrics) are never limited.
 *
 * A refused gRPC-Web call is answered the way a gRPC-Web client can read: HTTP 200 with
 * grpc-status 8 (RESOURCE_EXHAUSTED) and a sentence in grpc-message (the gateway's error
 * handler does that for errors carrying RATE_LIMITED_STATUS); other requests get HTTP 429.
 * Both carry retry-after.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';

export interface RateLimitSettings {
  /** Requests one client address may make per window; 0 or undefined: no limit. */
  gatewayRateLimit?: number;
  /** The window, in seconds (default 60). */
  gatewayRateWindowSeconds?: number;
}

export const RATE_LIMITED_STATUS = 429;

const UNLIMITED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The error a refused request is answered from (HTTP 429, or grpc-status 8 for gRPC-Web). */
export class RateLimitedError extends Error {
  readonly statusCode = RATE_LIMITED_STATUS;
  readonly code = 'NST_RATE_LIMITED';
}

export async function registerRateLimit(app: FastifyInstance, settings: RateLimitSettings): Promise<void> {
  const max = settings.gatewayRateLimit ?? 0;
  if (max <= 0) return;
  const windowSeconds = settings.gatewayRateWindowSeconds ?? 60;
  await app.register(rateLimit, {
    global: true,
    max,
    timeWindow: windowSeconds * 1000,
    allowList: (request) => UNLIMITED_PATHS.has(request.url.split('?')[0] ?? ''),
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError(
        `this client made more than ${max} requests in ${windowSeconds} s, the gateway's per-client limit ` +
          `(NST_GATEWAY_RATE_LIMIT); retry in ${context.after}`,
      ),
  });
}

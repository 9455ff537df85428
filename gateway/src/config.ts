/**
 * The gateway's settings: its own group (where it listens, CORS, the rate limit), read with the
 * platform's core settings (the services' addresses, the upload and chunk sizes, the registry
 * for thumbnails). The message limits derive from the services' upload and chunk settings, so
 * the gateway, the services and Envoy agree on what fits in a message. GatewaySettings is what
 * startGateway needs; a GatewayConfig (loadGatewayConfig) is one.
 */
import { commaList, CORE_SETTINGS, setting, settingsGroup, settingsLoader, text, wholeNumber } from '@nst/runtime/config';
import type { RateLimitSettings } from './rate-limit';

export interface GatewaySettings extends RateLimitSettings {
  /** Interface to listen on ("localhost", "0.0.0.0"...). */
  gatewayHost: string;
  /** Port; 0 picks a free one. */
  gatewayPort: number;
  /** Origins allowed to call cross-origin ("*", exact origins, or "https://*.example.com"). */
  gatewayCorsOrigins: readonly string[];
  /** host:port of StyleService. */
  styleAddr: string;
  /** host:port of TrainerService. */
  trainerAddr: string;
  /** host:port of ReleaseService; the platform's default (NST_RELEASE_ADDR's) when absent. */
  releaseAddr?: string;
  /** Largest photo upload (a StylizeImage or CreateStyleFromImage request carries it whole). */
  maxUploadBytes: number;
  /** Size of streamed output chunks (the largest reply messages). */
  chunkBytes: number;
  /** The model registry, read (never written) for style thumbnails. */
  registryDir?: string;
  /**
   * Proxies in front whose x-forwarded-for entries are trusted, the connection's peer
   * included (NST_GATEWAY_TRUSTED_HOPS); 0 or absent: the connection's address is the client.
   */
  gatewayTrustedHops?: number;
}

export const GATEWAY_SETTINGS = settingsGroup('The gateway (`gateway/src/config.ts`)', {
  gatewayHost: setting({
    env: 'NST_GATEWAY_HOST',
    default: 'localhost',
    schema: text,
    description: 'Interface the HTTP gateway listens on (`0.0.0.0` to expose it).',
  }),
  gatewayPort: setting({
    env: 'NST_GATEWAY_PORT',
    default: '8080',
    schema: wholeNumber(0, 65535),
    description: 'Port of the HTTP gateway (web app, gRPC-Web, health, metrics); 0 picks a free one.',
  }),
  gatewayCorsOrigins: setting({
    env: 'NST_GATEWAY_CORS_ORIGINS',
    default: 'http://localhost:8080,http://127.0.0.1:8080,http://localhost:5173',
    schema: commaList,
    description: 'Comma-separated browser origins allowed by CORS; `*` allows any.',
  }),
  gatewayRateLimit: setting({
    env: 'NST_GATEWAY_RATE_LIMIT',
    default: '300',
    schema: wholeNumber(0),
    description:
      'Requests one client address may make to the gateway per window (gRPC-Web calls answer RESOURCE_EXHAUSTED beyond it, other requests 429); 0 turns the limit off.',
  }),
  gatewayRateWindowSeconds: setting({
    env: 'NST_GATEWAY_RATE_WINDOW_SECONDS',
    default: '60',
    schema: wholeNumber(1, 86_400),
    description: 'The window `NST_GATEWAY_RATE_LIMIT` counts over, in seconds.',
  }),
  gatewayTrustedHops: setting({
    env: 'NST_GATEWAY_TRUSTED_HOPS',
    default: '0',
    schema: wholeNumber(0, 16),
    description:
      "Proxies in front of the gateway whose x-forwarded-for entries it trusts, counting the connection's own peer: 0 (npm start: browsers connect directly) keys the rate limit on the connection's address; 1 behind compose's Envoy; 2 in the cluster (Envoy and its sidecar). The client address found this way is the rate limit's key and is sent to StyleService as x-nst-client-address.",
  }),
});

/** Reads and validates the gateway's settings (with the core); throws ConfigError naming each bad variable. */
export const loadGatewayConfig = settingsLoader([CORE_SETTINGS, GATEWAY_SETTINGS]);

/** Everything the process reads. */
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

/** Room for the request header around the photo in one message. */
export const HEADER_ALLOWANCE_BYTES = 64 * 1024;
/** gRPC's default message limit; reply messages stay below it. */
export const GRPC_DEFAULT_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface MessageLimits {
  /** Largest gRPC-Web request message accepted (decoded bytes). */
  maxRequestBytes: number;
  /** Largest upstream reply message accepted. */
  maxResponseMessageBytes: number;
}

export function messageLimits(settings: Pick<GatewaySettings, 'maxUploadBytes' | 'chunkBytes'>): MessageLimits {
  return {
    maxRequestBytes: settings.maxUploadBytes + HEADER_ALLOWANCE_BYTES,
    maxResponseMessageBytes: Math.max(settings.chunkBytes + HEADER_ALLOWANCE_BYTES, GRPC_DEFAULT_MESSAGE_BYTES),
  };
}

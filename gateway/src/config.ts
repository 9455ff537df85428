/**
 * The settings the gateway reads. They are a subset of the platform's configuration
 * (@nst/runtime loadConfig(): NST_GATEWAY_HOST, NST_GATEWAY_PORT, NST_GATEWAY_CORS_ORIGINS,
 * NST_STYLE_ADDR, NST_TRAINER_ADDR, NST_MAX_UPLOAD_BYTES, NST_CHUNK_BYTES), so the platform's
 * config object can be passed as it is. The message limits derive from the services' upload
 * and chunk settings, so the gateway, the services and Envoy agree on what fits in a message.
 */
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

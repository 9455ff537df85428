/**
 * The gateway's settings from the environment, with the platform's defaults. The size limits
 * follow the services' own settings (NST_MAX_UPLOAD_BYTES, NST_CHUNK_BYTES) so the gateway,
 * the services and Envoy agree on what fits in one message.
 */
import type { GatewayConfig } from './gateway';

/** Largest photo upload (StyleService's NST_MAX_UPLOAD_BYTES default). */
export const DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024;
/** Output chunk size (StyleService's NST_CHUNK_BYTES default). */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;
/** Room for the request header around the photo in one StylizeImage message. */
export const HEADER_ALLOWANCE_BYTES = 64 * 1024;
/** gRPC's default message limit; replies stay below it. */
export const GRPC_DEFAULT_MESSAGE_BYTES = 4 * 1024 * 1024;

export const DEFAULT_CORS_ORIGINS = ['http://localhost:8080', 'http://127.0.0.1:8080', 'http://localhost:5173'];

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** Message limits derived from the upload and chunk settings. */
export function messageLimits(maxUploadBytes: number, chunkBytes: number) {
  return {
    maxRequestBytes: maxUploadBytes + HEADER_ALLOWANCE_BYTES,
    maxResponseMessageBytes: Math.max(chunkBytes + HEADER_ALLOWANCE_BYTES, GRPC_DEFAULT_MESSAGE_BYTES),
  };
}

/**
 * NST_GATEWAY_HOST (localhost), NST_GATEWAY_PORT (8080), NST_STYLE_ADDRESS
 * (127.0.0.1:50051), NST_TRAINER_ADDRESS (127.0.0.1:50052), NST_GATEWAY_CORS_ORIGINS (comma
 * separated; "*" for any), NST_MAX_UPLOAD_BYTES, NST_CHUNK_BYTES.
 */
export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const origins = env['NST_GATEWAY_CORS_ORIGINS'];
  return {
    host: env['NST_GATEWAY_HOST'] || 'localhost',
    port: intFrom(env, 'NST_GATEWAY_PORT', 8080),
    styleAddress: env['NST_STYLE_ADDRESS'] || '127.0.0.1:50051',
    trainerAddress: env['NST_TRAINER_ADDRESS'] || '127.0.0.1:50052',
    corsOrigins: origins ? origins.split(',').map((origin) => origin.trim()).filter(Boolean) : DEFAULT_CORS_ORIGINS,
    ...messageLimits(intFrom(env, 'NST_MAX_UPLOAD_BYTES', DEFAULT_MAX_UPLOAD_BYTES), intFrom(env, 'NST_CHUNK_BYTES', DEFAULT_CHUNK_BYTES)),
  };
}

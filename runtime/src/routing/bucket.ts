/**
 * The sticky bucket of a client: FNV-1a 32-bit over the UTF-8 bytes of the client id, mod 100.
 * A client with bucket b is routed to the canary iff b < weight, so raising the weight only
 * ever adds clients to the canary (monotone) and a client stays on one side while the weight
 * holds. The Envoy Lua filter in the cluster computes the same bucket from `x-nst-client-id`
 * into `x-nst-bucket` (see mesh/README.md), so local and cluster routing agree.
 *
 * FNV-1a 32: hash = 2166136261; for each byte: hash ^= byte; hash = (hash * 16777619) mod 2^32.
 * Hand-written: it is four lines, and the exact definition must match the Lua side.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/** 0..99. */
export function bucketOf(clientId: string): number {
  return fnv1a32(clientId) % 100;
}

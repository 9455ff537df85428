// The SDK itself (sdk.ts) is loaded only by register.ts, so services without tracing never load it.
export * from './spans';
export * from './state';

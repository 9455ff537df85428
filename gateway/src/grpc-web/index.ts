/**
 * @nst/gateway/grpc-web: the gRPC-Web wire format (frames, trailers, text mode) and a minimal
 * caller over fetch, for the tests, benches and fuzzer that speak it to the gateway.
 */
export * from './framing';
export * from './fetch-client';

/**
 * @nst/runtime: everything below in one import, for a service's process that uses most of it.
 * Code that needs one part imports its subpath instead (package.json's exports), so that, for
 * example, the CLI reads its settings without loading pino, OpenTelemetry, prom-client or the
 * Elasticsearch client.
 */
export * from './config';
export * from './logging';
export * from './durable-fs';
export * from './registry/index';
export * from './stores';
export * from './admin-token';
export * from './grpc/index';
export * from './telemetry/index';
export * from './metrics/index';
export * from './supervisor/index';
export * from './service-process';

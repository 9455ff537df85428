export * from './config';
export * from './logging';
export * from './durable-fs';
export * from './registry/index';
export * from './feedback/index';
export * from './admin-token';
export * from './grpc/index';

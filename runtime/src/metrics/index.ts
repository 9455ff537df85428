export * from './call-metrics';
export * from './platform-metrics';
export * from './grpc-interceptor';
export * from './metrics-server';
export * from './feedback-metrics';

/** @nst/gateway: the gRPC-Web front door (fastify) and its Envoy twin's route contract. */
export { startGateway, waitForGateway, type RunningGateway, type StartGatewayOptions } from './gateway';
export { messageLimits, type GatewaySettings, type MessageLimits } from './config';
export { buildWebApp, ensureWebApp, WEB_DIST, WEB_ROOT } from './web-app';
export { methodRoutes, clientStreamingPaths, SERVICE_ROUTES, type MethodRoute } from './grpc-web/routes';
export { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS } from './cors';
export { createGatewayMetrics, type GatewayMetrics } from './metrics';

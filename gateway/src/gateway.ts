/**
 * The browser's front door on one machine: gRPC-Web bridged to StyleService and
 * TrainerService, CORS with an allow-list, health, readiness, Prometheus metrics, style
 * thumbnails and the built web app, on fastify.
 */
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { status } from '@grpc/grpc-js';
import { loadConfig, ModelRegistry } from '@nst/runtime';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerGrpcWebBridge, requestTooLarge, sendGrpcWebError } from './grpc-web/bridge';
import { parseContentType } from './grpc-web/framing';
import { SERVICE_ROUTES, type UpstreamName } from './grpc-web/routes';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS, originAllowed } from './cors';
import { createGatewayMetrics, type GatewayMetrics } from './metrics';
import { UpstreamHealthChecker } from './upstream-health';
import { ensureWebApp, type WebAppLogger } from './web-app';
import { messageLimits, type GatewaySettings } from './config';
import { RATE_LIMITED_STATUS, registerRateLimit } from './rate-limit';

export interface StartGatewayOptions {
  /** The platform's configuration (or just the gateway's part of it). */
  config: GatewaySettings;
  /** A pino logger (the platform's); the gateway logs nothing without one. */
  logger?: FastifyBaseLogger;
  /**
   * Folder of the built web app to serve at "/". Defaults to web/dist, built on start when
   * missing; `false` serves no web app.
   */
  webDist?: string | false;
  /**
   * Reads a style's thumbnail JPEG; undefined when it has none. Defaults to the registry at
   * config.registryDir (read-only) when that is set.
   */
  readThumbnail?: (style: string) => Promise<Uint8Array | undefined>;
  metrics?: GatewayMetrics;
  /** How long /readyz waits for each upstream's health answer. Default 2000 ms. */
  upstreamCheckTimeoutMs?: number;
}

export interface RunningGateway {
  port: number;
  /** http://host:port/ */
  url: string;
  app: FastifyInstance;
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

const STYLE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Thumbnails from the model registry, opened read-only (the services own it). */
async function registryThumbnails(registryDir: string): Promise<(style: string) => Promise<Uint8Array | undefined>> {
  let registry: ModelRegistry | undefined;
  return async (style) => {
    // Opened on first use: on a fresh start the registry folder may appear after the gateway.
    registry ??= await ModelRegistry.open(registryDir, { readOnly: true });
    return registry.readThumbnail(style);
  };
}

/**
 * Waits until the gateway at config.gatewayHost:gatewayPort answers /healthz (npm start's
 * readiness check for it).
 */
export async function waitForGateway(config: Pick<GatewaySettings, 'gatewayHost' | 'gatewayPort'>, timeoutMs = 120_000): Promise<void> {
  const host = config.gatewayHost === '0.0.0.0' || config.gatewayHost === '::' ? 'localhost' : config.gatewayHost;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.gatewayPort}/healthz`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const healthy = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    if (Date.now() > deadline) throw new Error(`the gateway did not answer ${url} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * fastify's trustProxy from NST_GATEWAY_TRUSTED_HOPS. proxy-addr walks the addresses from the
 * socket's peer (hop 0) leftwards through x-forwarded-for and takes the first it does not
 * trust: trusting hops 0..n-1 makes request.ip the address the farthest trusted proxy saw.
 * A function, because fastify 5 turns a plain number into "trust nothing" (it cannot check
 * the peer); here the gateway is reached only through its front door (the cluster's
 * NetworkPolicy, compose's loopback-only port), which is what makes counting hops sound.
 */
function trustedHops(config: GatewaySettings): false | ((address: string, hop: number) => boolean) {
  const hops = config.gatewayTrustedHops ?? 0;
  return hops > 0 ? (_address, hop) => hop < hops : false;
}

export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const limits = messageLimits(config);
  const metrics = options.metrics ?? createGatewayMetrics();
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // Generous: the gRPC-Web parser sets its own limit; everything else is small.
    bodyLimit: 1024 * 1024,
    // Server streams (WatchJob, long stylizes) stay open as long as they need.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    // On close, drop open streams at once (their upstream calls are cancelled) instead of
    // waiting for a WatchJob that may run for an hour.
    forceCloseConnections: true,
    // Whose x-forwarded-for entries count; request.ip is then the client's address. With none,
    // the socket's address is the client, and a forwarded-for header is the client's own
    // writing, never trusted.
    trustProxy: trustedHops(config),
  });
  const logger: WebAppLogger = app.log;

  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin === undefined || originAllowed(origin, config.gatewayCorsOrigins)),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: [...CORS_ALLOW_HEADERS],
    exposedHeaders: [...CORS_EXPOSE_HEADERS],
    maxAge: CORS_MAX_AGE_SECONDS,
  });
  // Before any route, so every route but the probes counts against the client's limit.
  await registerRateLimit(app, config);

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const type = parseContentType(request.headers['content-type']);
    if (type && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const length = Number(request.headers['content-length'] ?? 0);
      const decoded = type.mode === 'text' ? Math.floor((length * 3) / 4) : length;
      return sendGrpcWebError(reply, type, metrics, status.RESOURCE_EXHAUSTED, requestTooLarge(decoded, limits.maxRequestBytes));
    }
    // gRPC-Web clients read grpc-status, not the HTTP status: a refusal must be a gRPC answer.
    if (type && error.statusCode === RATE_LIMITED_STATUS) {
      return sendGrpcWebError(reply, type, metrics, status.RESOURCE_EXHAUSTED, error.message);
    }
    if ((error.statusCode ?? 500) >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(error.statusCode ?? 500).send({ error: error.message });
  });

  const upstreams: Record<UpstreamName, string> = {
    style: config.styleAddr,
    trainer: config.trainerAddr,
    release: config.releaseAddr ?? loadConfig({}).releaseAddr,
  };
  const closeBridge = registerGrpcWebBridge(app, { upstreams, ...limits, metrics });

  const health = new UpstreamHealthChecker(
    SERVICE_ROUTES.map((route) => ({ service: route.service, address: upstreams[route.upstream] })),
    options.upstreamCheckTimeoutMs ?? 2000,
  );
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const upstreamHealth = await health.check();
    const ready = upstreamHealth.every((upstream) => upstream.status === 'SERVING');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', upstreams: upstreamHealth });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  const readThumbnail = options.readThumbnail ?? (config.registryDir ? await registryThumbnails(config.registryDir) : undefined);
  app.get<{ Params: { style: string } }>('/styles/:style/thumbnail.jpg', async (request, reply) => {
    const { style } = request.params;
    const thumbnail =
      STYLE_ID.test(style) && readThumbnail
        ? await readThumbnail(style).catch((error: unknown) => {
            request.log.warn({ err: error, style }, 'thumbnail could not be read');
            return undefined;
          })
        : undefined;
    if (!thumbnail) return reply.code(404).send({ error: `style '${style}' has no thumbnail` });
    return reply.type('image/jpeg').header('cache-control', 'public, max-age=300').send(Buffer.from(thumbnail));
  });

  if (options.webDist !== false) {
    const root = options.webDist ?? (await ensureWebApp(logger));
    await app.register(fastifyStatic, {
      root,
      index: 'index.html',
      // Vite names assets by content hash: cache them for good, but always revalidate the page.
      setHeaders: (reply, path) =>
        reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
      cacheControl: false,
    });
  }

  await app.listen({ host: config.gatewayHost, port: config.gatewayPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.gatewayPort;
  const urlHost = config.gatewayHost === '0.0.0.0' || config.gatewayHost === '::' ? 'localhost' : config.gatewayHost;
  return {
    port,
    url: `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}/`,
    app,
    metrics,
    close: async () => {
      await app.close();
      closeBridge();
      health.close();
    },
  };
}

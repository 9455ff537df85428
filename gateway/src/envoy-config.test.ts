/**
 * The cluster's Envoy config (gateway/envoy/envoy.yaml) exposes exactly the gRPC-Web routes the
 * fastify gateway serves, with the same CORS headers, and avoids the known Envoy pitfalls.
 * Envoy cannot run here, so this reads the YAML.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig, messageLimits } from './config';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS } from './cors';
import { SERVICE_ROUTES, clientStreamingPaths, methodRoutes, type UpstreamName } from './grpc-web/routes';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Envoy's schema is not typed here
type Yaml = any;

const envoy: Yaml = parse(readFileSync(new URL('../envoy/envoy.yaml', import.meta.url), 'utf8'));
const listener: Yaml = envoy.static_resources.listeners[0];
const hcm: Yaml = listener.filter_chains[0].filters[0].typed_config;
const virtualHost: Yaml = hcm.route_config.virtual_hosts[0];
const allClusters: Yaml[] = envoy.static_resources.clusters;
// The clusters calls through the front door go to (the rest carry Envoy's own spans).
const clusters: Yaml[] = allClusters.filter((cluster) => virtualHost.routes.some((route: Yaml) => route.route.cluster === cluster.name));
const CLUSTER_UPSTREAM: Record<string, UpstreamName> = { nst_style: 'style', nst_trainer: 'trainer', nst_release: 'release' };
const grpcRoutes: Yaml[] = virtualHost.routes.filter((route: Yaml) => route.route.cluster in CLUSTER_UPSTREAM);
// The platform's defaults (NST_MAX_UPLOAD_BYTES, NST_CHUNK_BYTES, NST_GATEWAY_CORS_ORIGINS).
const defaults = loadGatewayConfig({});
const limits = messageLimits(defaults);
const splitList = (value: string): string[] => value.split(',').map((item) => item.trim());

describe('Envoy config', () => {
  it('routes exactly the methods the gateway bridges, each to the same upstream', () => {
    const envoyRoutes = grpcRoutes.map((route) => [route.match.path, CLUSTER_UPSTREAM[route.route.cluster]]).sort();
    const gatewayRoutes = [...methodRoutes().values()].map((route) => [route.path, route.upstream]).sort();
    expect(envoyRoutes).toEqual(gatewayRoutes);
    for (const path of clientStreamingPaths()) expect(envoyRoutes.map(([p]) => p)).not.toContain(path);
    // The catch-all sends everything else (web app, thumbnails, health) to the gateway.
    expect(virtualHost.routes.at(-1)).toMatchObject({ match: { prefix: '/' }, route: { cluster: 'nst_web' } });
  });

  it('never cuts server streams: no route timeout, grpc-timeout uncapped', () => {
    for (const route of grpcRoutes) {
      expect(route.route.timeout).toBe('0s');
      expect(route.route.max_stream_duration.grpc_timeout_header_max).toBe('0s');
    }
    expect(hcm.request_timeout).toBe('0s');
  });

  it('translates gRPC-Web before CORS and routing, and speaks HTTP/2 to the gRPC upstreams', () => {
    expect(hcm.http_filters.map((filter: Yaml) => filter.name)).toEqual([
      'envoy.filters.http.grpc_web',
      'envoy.filters.http.cors',
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.router',
    ]);
    for (const { service, upstream } of SERVICE_ROUTES) {
      const name = Object.keys(CLUSTER_UPSTREAM).find((cluster) => CLUSTER_UPSTREAM[cluster] === upstream);
      const cluster = clusters.find((c) => c.name === name);
      const options = cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
      expect(options.explicit_http_config.http2_protocol_options).toBeDefined();
      expect(cluster.health_checks[0].grpc_health_check.service_name).toBe(service);
    }
  });

  it('sends each upstream its own authority: Host rewritten on every route, health checks name the Service', () => {
    // In the cluster the calls leave through Envoy's Istio sidecar, which routes by Host: the
    // browser's Host, or Envoy's default health-check authority (the cluster's name), matches
    // no Service there, the call goes out as passthrough and STRICT mTLS refuses it.
    const address = (cluster: Yaml): string => cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address;
    for (const route of virtualHost.routes) {
      const cluster = clusters.find((c) => c.name === route.route.cluster);
      expect(cluster.type, `${route.route.cluster} resolves a DNS name`).toBe('STRICT_DNS');
      expect(route.route.auto_host_rewrite, `route ${JSON.stringify(route.match)} rewrites Host`).toBe(true);
    }
    for (const cluster of clusters) {
      expect(cluster.health_checks.length, cluster.name).toBeGreaterThan(0);
      for (const check of cluster.health_checks) {
        const authority = check.grpc_health_check?.authority ?? check.http_health_check?.host;
        expect(authority, `${cluster.name} health check authority`).toBe(address(cluster));
      }
    }
  });

  it('buffers a whole maximum upload, even base64-inflated, on the listener and every cluster', () => {
    const textModeRequest = Math.ceil(((limits.maxRequestBytes + 5) * 4) / 3);
    expect(listener.per_connection_buffer_limit_bytes).toBeGreaterThanOrEqual(textModeRequest);
    for (const cluster of clusters) expect(cluster.per_connection_buffer_limit_bytes).toBeGreaterThanOrEqual(textModeRequest);
    // Replies are output chunks, which gRPC's default 4 MiB limit holds on both sides.
    expect(limits.maxResponseMessageBytes).toBe(4 * 1024 * 1024);
  });

  it("limits every call per client address, as the gateway does: a token bucket per trusted address, the gateway's limit and window, RESOURCE_EXHAUSTED to gRPC-Web", () => {
    // Before: no limit on the gRPC-Web path at all, and behind Istio every connection's peer
    // is a proxy. The limit counts by the remote_address action, which is Envoy's trusted
    // client address (x-forwarded-for with xff_num_trusted_hops, see client-address.test.ts).
    expect(virtualHost.rate_limits).toEqual([{ actions: [{ remote_address: {} }] }]);
    for (const route of virtualHost.routes) {
      // A route's own policy would replace the virtual host's (vh_rate_limits OVERRIDE).
      expect(route.route.rate_limits, `route ${JSON.stringify(route.match)}`).toBeUndefined();
      expect(route.typed_per_filter_config?.['envoy.filters.http.local_ratelimit'], `route ${JSON.stringify(route.match)}`).toBeUndefined();
    }
    const limit = virtualHost.typed_per_filter_config['envoy.filters.http.local_ratelimit'];
    expect(limit['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit');
    // The filter is off and unenforced unless both say 100 %.
    for (const key of ['filter_enabled', 'filter_enforced']) expect(limit[key].default_value, key).toEqual({ numerator: 100, denominator: 'HUNDRED' });
    expect(limit.rate_limited_as_resource_exhausted).toBe(true);
    expect(limit.always_consume_default_token_bucket, 'the shared default bucket is not spent by every call').toBe(false);
    // One wildcard entry: an empty value makes a bucket per address (not one shared bucket for a literal value).
    expect(limit.descriptors).toHaveLength(1);
    expect(limit.descriptors[0].entries).toEqual([{ key: 'remote_address', value: '' }]);
    expect(limit.max_dynamic_descriptors).toBeGreaterThanOrEqual(10_000);
    const bucket = limit.descriptors[0].token_bucket;
    const fillSeconds = Number(/^(\d+)s$/.exec(bucket.fill_interval)?.[1]);
    expect({ max: bucket.max_tokens, perFill: bucket.tokens_per_fill, seconds: fillSeconds }).toEqual({
      max: defaults.gatewayRateLimit,
      perFill: defaults.gatewayRateLimit,
      seconds: defaults.gatewayRateWindowSeconds,
    });
    // A descriptor's fill interval must be a multiple of the default bucket's.
    expect(fillSeconds % Number(/^(\d+)s$/.exec(limit.token_bucket.fill_interval)?.[1])).toBe(0);
    // And the filter is in the chain, so the per-virtual-host config applies at all.
    expect(hcm.http_filters.some((filter: Yaml) => filter.name === 'envoy.filters.http.local_ratelimit')).toBe(true);
  });

  it('tells the services who the client is: x-nst-client-address from the trusted address, overwriting what a browser sent', () => {
    const added = virtualHost.request_headers_to_add.find((h: Yaml) => h.header.key === 'x-nst-client-address');
    expect(added).toEqual({
      header: { key: 'x-nst-client-address', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' },
      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
    });
    // Browsers cannot even ask to send it cross-origin.
    expect(CORS_ALLOW_HEADERS).not.toContain('x-nst-client-address');
  });

  it("sends its spans to the APM server, as the services do, with the APM token from the environment (not in the config)", () => {
    // Before: `tracing: {}`, no provider, no span from the front door.
    const tracing = hcm.tracing;
    expect(tracing.provider.name).toBe('envoy.tracers.opentelemetry');
    expect(tracing.random_sampling.value).toBe(100);
    const otel = tracing.provider.typed_config;
    expect(otel['@type']).toBe('type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig');
    expect(otel.service_name).toBe('nst-envoy');
    // OTLP/HTTP to the services' endpoint (OTEL_EXPORTER_OTLP_ENDPOINT in compose and the cluster).
    const uri = new URL(otel.http_service.http_uri.uri);
    expect(`${uri.origin}`).toBe('http://nst-apm-server:8200');
    expect(uri.pathname).toBe('/v1/traces');
    // Followed hop by hop: the exporter's cluster is Envoy's own loopback listener...
    const address = (cluster: Yaml) => cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    const exporter = allClusters.find((c) => c.name === otel.http_service.http_uri.cluster);
    const loopback = envoy.static_resources.listeners.find(
      (l: Yaml) => l.address.socket_address.address === address(exporter).address && l.address.socket_address.port_value === address(exporter).port_value,
    );
    expect(address(exporter).address).toBe('127.0.0.1');
    expect(loopback, 'a listener on the exporter cluster address').toBeDefined();
    const loopbackHcm = loopback.filter_chains[0].filters[0].typed_config;
    expect(loopbackHcm.tracing, 'no spans about spans').toBeUndefined();
    // ...whose route adds the token from the environment and goes to the APM server.
    const route = loopbackHcm.route_config.virtual_hosts[0].routes.find((r: Yaml) => r.match.path === uri.pathname);
    expect(route.request_headers_to_add).toEqual([
      { header: { key: 'authorization', value: '%ENVIRONMENT(NST_APM_AUTHORIZATION)%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    expect(route.route.auto_host_rewrite).toBe(true);
    const apm = allClusters.find((c) => c.name === route.route.cluster);
    expect(address(apm)).toEqual({ address: uri.hostname, port_value: Number(uri.port) });
    // The APM server's Service speaks HTTP/1.1 (appProtocol http): no HTTP/2 to it.
    expect(apm.typed_extension_protocol_options).toBeUndefined();
    // No secret in the file itself.
    expect(readFileSync(new URL('../envoy/envoy.yaml', import.meta.url), 'utf8')).not.toMatch(/Bearer /);
  });

  it('allows and exposes the same CORS headers and origins as the gateway', () => {
    const cors = virtualHost.typed_per_filter_config['envoy.filters.http.cors'];
    expect(splitList(cors.expose_headers).sort()).toEqual([...CORS_EXPOSE_HEADERS].sort());
    expect(splitList(cors.allow_headers).sort()).toEqual([...CORS_ALLOW_HEADERS].sort());
    for (const header of ['grpc-status', 'grpc-message', 'grpc-status-details-bin']) expect(CORS_EXPOSE_HEADERS).toContain(header);
    for (const header of ['x-grpc-web', 'x-user-agent', 'grpc-timeout', 'traceparent', 'tracestate']) {
      expect(CORS_ALLOW_HEADERS).toContain(header);
    }
    expect(cors.allow_origin_string_match.map((match: Yaml) => match.exact)).toEqual(defaults.gatewayCorsOrigins);
  });
});

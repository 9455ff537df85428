/**
 * Which gRPC methods browsers may call, and which upstream serves each: derived from the
 * generated service definitions, so a method added to the contract is routed without touching
 * the gateway. Methods that stream requests (Stylize, CreateStyle) are left out: gRPC-Web
 * cannot send more than one request message.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { ReleaseServiceService, StyleServiceService, TrainerServiceService } from '@nst/proto';

/** The upstreams the gateway knows, by the config key naming their address. */
export type UpstreamName = 'style' | 'trainer' | 'release';

export interface ServiceRoute {
  /** Fully qualified service name, for example "nst.v1.StyleService". */
  service: string;
  upstream: UpstreamName;
  definition: ServiceDefinition;
}

export const SERVICE_ROUTES: readonly ServiceRoute[] = [
  { service: 'nst.v1.StyleService', upstream: 'style', definition: StyleServiceService },
  { service: 'nst.v1.TrainerService', upstream: 'trainer', definition: TrainerServiceService },
  { service: 'nst.v1.ReleaseService', upstream: 'release', definition: ReleaseServiceService },
];

export interface MethodRoute {
  /** HTTP path, "/nst.v1.StyleService/StylizeImage". */
  path: string;
  service: string;
  /** Method name as in the .proto, "StylizeImage". */
  method: string;
  upstream: UpstreamName;
  responseStream: boolean;
}

/**
 * Calls between the services, never bridged for browsers: the model catalogue and model bytes
 * StyleService and ReleaseService follow, and the consented photos StyleService hands over.
 */
export const SERVICE_TO_SERVICE_PATHS: ReadonlySet<string> = new Set([
  '/nst.v1.TrainerService/WatchVersions',
  '/nst.v1.TrainerService/FetchModel',
  '/nst.v1.TrainerService/KeepPhoto',
  '/nst.v1.ReleaseService/WatchRollouts',
]);

/** Every method reachable over gRPC-Web, keyed by path. */
export function methodRoutes(services: readonly ServiceRoute[] = SERVICE_ROUTES): Map<string, MethodRoute> {
  const routes = new Map<string, MethodRoute>();
  for (const { service, upstream, definition } of services) {
    for (const method of Object.values(definition)) {
      if (method.requestStream || SERVICE_TO_SERVICE_PATHS.has(method.path)) continue;
      const name = method.path.slice(method.path.lastIndexOf('/') + 1);
      routes.set(method.path, { path: method.path, service, method: name, upstream, responseStream: method.responseStream });
    }
  }
  return routes;
}

/** Methods of the contract that gRPC-Web cannot call (they stream requests), by path. */
export function clientStreamingPaths(services: readonly ServiceRoute[] = SERVICE_ROUTES): string[] {
  return services.flatMap(({ definition }) =>
    Object.values(definition)
      .filter((method) => method.requestStream)
      .map((method) => method.path),
  );
}

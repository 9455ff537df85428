/**
 * What every gRPC server of the platform offers besides its own service: grpc.health.v1
 * health (NOT_SERVING until its stores answered, SERVING while it runs, NOT_SERVING while it
 * drains) and server reflection built from
 * the service's .proto files, so grpcurl and `buf curl` work without local proto files.
 */
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { reflectionDescriptors } from '@nst/proto';
import type { CallMetrics } from '../metrics/call-metrics';
import { grpcMetricsInterceptor } from '../metrics/grpc-interceptor';
import { platformMetrics } from '../metrics/platform-metrics';

export interface GrpcServiceSpec {
  /** Full service name, for example "nst.v1.StyleService". */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  /** host:port to listen on; port 0 picks a free port. */
  address: string;
  services: GrpcServiceSpec[];
  /** grpc-js channel options (message size limits and the like). */
  channelOptions?: Record<string, number | string>;
  /** Where calls are counted and timed; default this process's platform metrics (nst_grpc_server_*). */
  callMetrics?: CallMetrics;
  /**
   * Health answers NOT_SERVING until this resolves (the stores the service needs answered), so
   * probes, Envoy and the gateway's /readyz keep calls away meanwhile; default SERVING at once.
   */
  ready?: Promise<unknown>;
}

export interface RunningGrpcServer {
  server: Server;
  health: HealthImplementation;
  port: number;
  /** Marks every service NOT_SERVING, lets calls in flight finish (up to `graceMs`), then stops. */
  close(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    ...options.channelOptions,
    interceptors: [grpcMetricsInterceptor(options.callMetrics ?? platformMetrics().grpc)],
  });
  for (const service of options.services) server.addService(service.definition, service.implementation);

  const initial = options.ready ? ('NOT_SERVING' as const) : ('SERVING' as const);
  const serving = Object.fromEntries(options.services.map((s) => [s.name, initial]));
  const health = new HealthImplementation({ '': initial, ...serving });
  health.addToServer(server);

  // Reflection serves the descriptors buf compiled (@nst/proto). ReflectionService reads only
  // the `fileDescriptorProtos` of the definition it is given; a definition from
  // @grpc/proto-loader would carry protobufjs-synthesized descriptors, whose camel-cased field
  // names and map entries `buf curl` and grpcurl reject.
  const reflected = { files: { fileDescriptorProtos: reflectionDescriptors() } } as unknown as PackageDefinition;
  new ReflectionService(reflected, {
    services: [...options.services.map((s) => s.name), 'grpc.health.v1.Health'],
  }).addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    ),
  );

  let closing: Promise<void> | undefined;
  void options.ready?.then(() => {
    if (closing) return;
    for (const name of ['', ...Object.keys(serving)]) health.setStatus(name, 'SERVING');
  });
  const close = (graceMs = 5000): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const name of ['', ...Object.keys(serving)]) health.setStatus(name, 'NOT_SERVING');
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    return closing;
  };
  return { server, health, port, close };
}

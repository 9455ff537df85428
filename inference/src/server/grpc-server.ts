// Moved to @nst/runtime (shared by every gRPC server of the platform); re-exported here so
// StyleService's imports keep working.
export { startGrpcServer } from '@nst/runtime';
export type { GrpcServerOptions, GrpcServiceSpec, RunningGrpcServer } from '@nst/runtime';

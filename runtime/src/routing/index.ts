/**
 * @nst/runtime/routing: the canary routing rules and client buckets shared by StyleService's
 * router and ReleaseService's Istio rendering. A leaf: no service, store or telemetry code.
 */
export * from './bucket';
export * from './route';

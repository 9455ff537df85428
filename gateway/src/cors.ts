/**
 * CORS for gRPC-Web, shared by the fastify gateway and checked against the Envoy config so
 * both front doors let the same browser headers through.
 */

/** Response headers a browser script must be able to read. */
export const CORS_EXPOSE_HEADERS = [
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'x-nst-version',
  'x-nst-request-id',
] as const;

/** Request headers a browser script may send. */
export const CORS_ALLOW_HEADERS = [
  'content-type',
  'x-grpc-web',
  'x-user-agent',
  'grpc-timeout',
  'traceparent',
  'tracestate',
  'authorization',
  'x-nst-version',
  'x-nst-client-id',
  // The style as metadata: Istio routes a style's canary on headers (mesh/README.md).
  'x-nst-style',
  // An operator's Kubernetes token on admin calls: Istio checks it in the cluster (k8s/base/istio/security.yaml).
  'x-nst-operator-jwt',
] as const;

export const CORS_MAX_AGE_SECONDS = 86_400;

/**
 * Whether an Origin header is in the allow-list. "*" allows every origin; entries are exact
 * origins ("https://nst.example.com") or a host wildcard ("https://*.example.com").
 */
export function originAllowed(origin: string, allowList: readonly string[]): boolean {
  return allowList.some((entry) => {
    if (entry === '*') return true;
    if (!entry.includes('*')) return entry === origin;
    const [prefix, suffix] = entry.split('*', 2) as [string, string];
    return origin.startsWith(prefix) && origin.endsWith(suffix) && origin.length > prefix.length + suffix.length;
  });
}

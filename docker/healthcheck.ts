/**
 * The images' HEALTHCHECK (Docker and compose; Kubernetes uses its native gRPC probes instead):
 *   node --import tsx docker/healthcheck.ts grpc 127.0.0.1:50051 nst.v1.StyleService
 *   node --import tsx docker/healthcheck.ts http http://127.0.0.1:8080/readyz
 * Exits 0 when the server answers grpc.health.v1 SERVING (or HTTP 2xx), 1 otherwise. Written
 * here because the slim images carry no grpc_health_probe; it reuses the runtime's client.
 */
import { waitForServing } from '@nst/runtime/grpc/health';

const [kind, target, service] = process.argv.slice(2);

async function check(): Promise<void> {
  if (kind === 'grpc' && target) return waitForServing(target, { service: service ?? '', timeoutMs: 3_000 });
  if (kind === 'http' && target) {
    const response = await fetch(target, { signal: AbortSignal.timeout(3_000) });
    if (!response.ok) throw new Error(`${target} answered HTTP ${response.status}`);
    return;
  }
  throw new Error('usage: healthcheck.ts grpc <host:port> [service] | http <url>');
}

check().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

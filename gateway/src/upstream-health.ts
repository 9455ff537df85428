/**
 * Readiness of the upstream gRPC services, asked through the standard grpc.health.v1 Check
 * call every platform server offers.
 */
import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

export interface UpstreamTarget {
  /** Fully qualified service name asked about, for example "nst.v1.StyleService". */
  service: string;
  address: string;
}

export interface UpstreamHealth extends UpstreamTarget {
  /** SERVING, NOT_SERVING, UNKNOWN, or UNREACHABLE when the check itself failed. */
  status: string;
  /** Why the check failed, when it did. */
  error?: string;
}

type CheckFn = (
  request: { service: string },
  options: { deadline: number },
  callback: (error: ServiceError | null, response?: { status: string }) => void,
) => void;

export class UpstreamHealthChecker {
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly targets: readonly UpstreamTarget[],
    private readonly timeoutMs = 2000,
  ) {}

  private clientFor(address: string): Client {
    let client = this.clients.get(address);
    if (!client) {
      client = new HealthClient(address, credentials.createInsecure());
      this.clients.set(address, client);
    }
    return client;
  }

  /** Checks every upstream concurrently. */
  check(): Promise<UpstreamHealth[]> {
    return Promise.all(
      this.targets.map(
        (target) =>
          new Promise<UpstreamHealth>((resolve) => {
            const client = this.clientFor(target.address) as unknown as { check: CheckFn };
            client.check({ service: target.service }, { deadline: Date.now() + this.timeoutMs }, (error, response) =>
              resolve(
                error
                  ? { ...target, status: 'UNREACHABLE', error: error.details || error.message }
                  : { ...target, status: response?.status ?? 'UNKNOWN' },
              ),
            );
          }),
      ),
    );
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

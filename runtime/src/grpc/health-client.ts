/**
 * A grpc.health.v1 client (Check) and waitForServing, built from the health.proto that grpc-health-check ships,
 * for readiness checks by scripts and tests.
 */
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

type CheckCallback = (error: ServiceError | null, response: { status: string }) => void;
interface HealthStub extends Client {
  check(request: { service: string }, options: { deadline: Date }, callback: CheckCallback): void;
}
type HealthConstructor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthStub;

let constructor: HealthConstructor | undefined;

function healthConstructor(): HealthConstructor {
  if (!constructor) {
    const definition = loadSync(protoPath, { enums: String, keepCase: true });
    const loaded = loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: HealthConstructor } } } };
    constructor = loaded.grpc.health.v1.Health;
  }
  return constructor;
}

export class HealthClient {
  private readonly stub: HealthStub;

  constructor(address: string) {
    const Health = healthConstructor();
    this.stub = new Health(address, credentials.createInsecure());
  }

  /** The serving status of `service` ('' = the server as a whole), e.g. 'SERVING'. */
  check(service = '', timeoutMs = 2000): Promise<string> {
    return new Promise((resolve, reject) => {
      this.stub.check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) =>
        error ? reject(error) : resolve(response.status),
      );
    });
  }

  close(): void {
    this.stub.close();
  }
}

/**
 * Asks a server's grpc.health.v1 Health/Check for `service` ('' = the whole server) until it
 * answers SERVING or `timeoutMs` passes. For start-up scripts and tests.
 */
export async function waitForServing(address: string, options: { service?: string; timeoutMs?: number } = {}): Promise<void> {
  const client = new HealthClient(address);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last = 'no answer';
  try {
    for (;;) {
      try {
        const state = await client.check(options.service ?? '', Math.max(200, Math.min(2000, deadline - Date.now())));
        if (state === 'SERVING') return;
        last = state;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() >= deadline) throw new Error(`${address} is not SERVING after ${options.timeoutMs ?? 30_000} ms (${last})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.close();
  }
}

/**
 * A grpc.health.v1 client (Check), built from the health.proto that grpc-health-check ships,
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

/**
 * gRPC plumbing shared by the commands: clients for the two services, promise-returning unary
 * calls, admin metadata, and gRPC failures turned into sentences a person can act on.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ReleaseServiceClient, StyleServiceClient, TrainerServiceClient } from '@nst/proto';
import { adviseCommand } from './messages';

/** A failure the CLI reports as one sentence, exiting with a non-zero status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'details' in error;
}

/** Turns a gRPC failure into a sentence naming the service; other errors pass through. */
export function describeFailure(error: unknown, service: string, address: string): Error {
  if (!isServiceError(error)) return error instanceof Error ? error : new Error(String(error));
  const details = adviseCommand(error.details || status[error.code]);
  switch (error.code) {
    case status.UNAVAILABLE:
      return new CliError(`cannot reach ${service} at ${address} (${details}); is it running? Start everything with \`npm start\`.`);
    case status.DEADLINE_EXCEEDED:
      return new CliError(`${service} at ${address} did not answer in time: ${details}`);
    default:
      return new CliError(`${service}: ${details} (${status[error.code]})`);
  }
}

export interface Endpoint<C> {
  client: C;
  name: string;
  address: string;
}

export function styleEndpoint(address: string): Endpoint<StyleServiceClient> {
  return { client: new StyleServiceClient(address, credentials.createInsecure()), name: 'StyleService', address };
}

export function trainerEndpoint(address: string): Endpoint<TrainerServiceClient> {
  return { client: new TrainerServiceClient(address, credentials.createInsecure()), name: 'TrainerService', address };
}

export function releaseEndpoint(address: string): Endpoint<ReleaseServiceClient> {
  return { client: new ReleaseServiceClient(address, credentials.createInsecure()), name: 'ReleaseService', address };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a unary method with a deadline; failures become CliErrors naming the service. */
export function unary<C, Req, Res>(
  endpoint: Endpoint<C>,
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata = new Metadata(),
  timeoutMs = 30_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(endpoint.client, request, metadata, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) =>
      error ? reject(describeFailure(error, endpoint.name, endpoint.address)) : resolve(response),
    );
  });
}

/** Metadata carrying the admin token. */
export function adminMetadata(token: string | undefined): Metadata {
  if (!token) {
    throw new CliError(
      'this command needs the admin token: pass --token, set NST_ADMIN_TOKEN, or run it where the admin-token file of the data folder can be read',
    );
  }
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

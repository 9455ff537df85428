/**
 * Test-side helpers that drive TrainerService (and any unary call) through the generated
 * ts-proto clients: the admin metadata, promise-returning unary calls, CreateStyle's client
 * stream, tiny job headers and WatchJob to the end.
 */
import { Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { JobState, LossNetwork, type CreateStyleHeader, type Job, type TrainerServiceClient, type WatchJobResponse } from '@nst/proto';

/** The admin token the in-process fixtures are started with. */
export const ADMIN_TOKEN = 'test-admin-token';
/** Seconds-long jobs: 32 px crops, too small for the ImageNet loss, so the random one. */
export const TINY = { batchSize: 1, imageSize: 32, lossNetwork: LossNetwork.LOSS_NETWORK_RANDOM } as const;

export const FINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** `authorization: Bearer <token>`; an empty token sends no header. */
export function admin(token = ADMIN_TOKEN): Metadata {
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

// The overload with call options: TypeScript infers from a method's last overload.
export type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: object, callback: (error: ServiceError | null, response: Res) => void) => unknown;

/** Calls a unary method of `client`; resolves with the response or rejects with the ServiceError. */
export function call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req, metadata = new Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, {}, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** The ServiceError a call was refused with; fails when it succeeded. */
export async function refused(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('the call succeeded; a refusal was expected');
}

export type CreateStyleMessage = { header: CreateStyleHeader } | { chunk: Buffer };

/** Streams CreateStyle messages; resolves with the job or rejects with the ServiceError. */
export function createStyle(client: TrainerServiceClient, messages: CreateStyleMessage[], metadata = admin()): Promise<Job> {
  return new Promise((resolve, reject) => {
    const stream = client.createStyle(metadata, (error, response) => (error ? reject(error) : resolve(response.job!)));
    for (const message of messages) {
      stream.write(
        'header' in message
          ? { kind: { $case: 'header', header: message.header } }
          : { kind: { $case: 'paintingChunk', paintingChunk: message.chunk } },
      );
    }
    stream.end();
  });
}

/** A CreateStyle header for a tiny job of `steps` steps. */
export function tinyJobHeader(styleId: string, steps: number): CreateStyleHeader {
  return { styleId, displayName: `Test ${styleId}`, description: 'Trained by a test.', hyperparameters: { steps, ...TINY } };
}

/** Collects WatchJob updates until the stream ends. */
export function watchToEnd(client: TrainerServiceClient, jobId: string, onUpdate?: (update: WatchJobResponse) => void): Promise<WatchJobResponse[]> {
  return new Promise((resolve, reject) => {
    const updates: WatchJobResponse[] = [];
    const stream = client.watchJob({ jobId });
    stream.on('data', (update: WatchJobResponse) => {
      updates.push(update);
      onUpdate?.(update);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(updates));
  });
}

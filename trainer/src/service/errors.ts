/**
 * Failures a TrainerService client can act on: each carries its gRPC status code and a message
 * written for a person. The handlers turn anything else into INTERNAL without leaking internals.
 */
import { status } from '@grpc/grpc-js';

export class TrainerServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'TrainerServiceError';
  }
}

export const invalidArgument = (message: string): TrainerServiceError =>
  new TrainerServiceError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string): TrainerServiceError => new TrainerServiceError(status.NOT_FOUND, message);
export const alreadyExists = (message: string): TrainerServiceError =>
  new TrainerServiceError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): TrainerServiceError =>
  new TrainerServiceError(status.FAILED_PRECONDITION, message);
export const resourceExhausted = (message: string): TrainerServiceError =>
  new TrainerServiceError(status.RESOURCE_EXHAUSTED, message);
export const unauthenticated = (message: string): TrainerServiceError =>
  new TrainerServiceError(status.UNAUTHENTICATED, message);
export const permissionDenied = (message: string): TrainerServiceError =>
  new TrainerServiceError(status.PERMISSION_DENIED, message);
export const unavailable = (message: string): TrainerServiceError => new TrainerServiceError(status.UNAVAILABLE, message);

/**
 * Failures a client of any platform service can act on. Every error a service raises on purpose
 * is a ServiceError carrying its gRPC status code and a message written for a person; the
 * servers turn anything else into INTERNAL without leaking internals.
 */
import { status } from '@grpc/grpc-js';

export class ServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const invalidArgument = (message: string): ServiceError => new ServiceError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string): ServiceError => new ServiceError(status.NOT_FOUND, message);
export const alreadyExists = (message: string): ServiceError => new ServiceError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): ServiceError => new ServiceError(status.FAILED_PRECONDITION, message);
export const resourceExhausted = (message: string): ServiceError => new ServiceError(status.RESOURCE_EXHAUSTED, message);
export const deadlineExceeded = (message: string): ServiceError => new ServiceError(status.DEADLINE_EXCEEDED, message);
export const cancelled = (message: string): ServiceError => new ServiceError(status.CANCELLED, message);
export const unauthenticated = (message: string): ServiceError => new ServiceError(status.UNAUTHENTICATED, message);
export const permissionDenied = (message: string): ServiceError => new ServiceError(status.PERMISSION_DENIED, message);
export const unavailable = (message: string): ServiceError => new ServiceError(status.UNAVAILABLE, message);

/** TrainerService's failures are the platform's ServiceError (@nst/runtime). */
export {
  ServiceError as TrainerServiceError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  resourceExhausted,
  unauthenticated,
  unavailable,
} from '@nst/runtime';

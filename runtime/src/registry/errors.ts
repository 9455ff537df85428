/**
 * Typed registry errors, so services can map them to gRPC status codes (NOT_FOUND,
 * INVALID_ARGUMENT, ALREADY_EXISTS, DATA_LOSS) without matching on messages.
 */
export class RegistryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An unknown style or version. */
export class RegistryNotFoundError extends RegistryError {
  constructor(
    message: string,
    readonly style: string,
    readonly version?: number,
  ) {
    super(message);
  }
}

/** A style id, version number, manifest or metadata that is not acceptable. */
export class RegistryValidationError extends RegistryError {}

/** A style with that id already exists. */
export class RegistryConflictError extends RegistryError {}

/** A version whose files do not match its metadata (hash, shape); it is never served. */
export class RegistryCorruptError extends RegistryError {
  constructor(
    message: string,
    readonly style: string,
    readonly version: number,
  ) {
    super(message);
  }
}

/**
 * Named errors carry their meaning: an HTTP status, a stable machine-readable code, and a message
 * that says what was wrong and how to fix it. They are turned into responses in one place
 * (the API's error handler); storage backends translate SDK errors into these.
 */
export class NexusError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds after which a retry can succeed (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class ValidationError extends NexusError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(400, code, message, options);
  }
}

export class UnauthorizedError extends NexusError {
  constructor(message: string) {
    super(401, 'unauthorized', message);
  }
}

export class NotFoundError extends NexusError {
  constructor(message: string, code = 'not_found') {
    super(404, code, message);
  }
}

/** The request is understood and the caller known, but this is not allowed (a disabled endpoint). */
export class ForbiddenError extends NexusError {
  constructor(code: string, message: string) {
    super(403, code, message);
  }
}

/** Too many requests of a kind from one client (failed authentication): try again later. */
export class TooManyRequestsError extends NexusError {
  constructor(code: string, message: string, retryAfterSeconds: number) {
    super(429, code, message, { retryAfterSeconds });
  }
}

/** The request conflicts with the state of what it names (a lease it does not hold, a replay of a queued item). */
export class ConflictError extends NexusError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

/** The request's body did not arrive in time. */
export class RequestTimeoutError extends NexusError {
  constructor(message: string) {
    super(408, 'request_timeout', message);
  }
}

export class MethodNotAllowedError extends NexusError {
  readonly allow: readonly string[];
  constructor(method: string, allow: readonly string[]) {
    super(405, 'method_not_allowed', `${method} is not allowed here; use ${allow.join(' or ')}.`);
    this.allow = allow;
  }
}

/** A page cursor that this server did not issue (or that was changed on the way). */
export class InvalidCursorError extends ValidationError {
  constructor() {
    super(
      'invalid_cursor',
      'The cursor is not one this server issued; start again without a cursor.',
    );
  }
}

/** A create-only write found the row or blob already there. */
export class AlreadyExistsError extends NexusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(409, 'already_exists', message, options);
  }
}

/** A conditional update lost a race: the ETag no longer matches. */
export class PreconditionFailedError extends NexusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(412, 'precondition_failed', message, options);
  }
}

export class PayloadTooLargeError extends NexusError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
  }
}

export class UnsupportedMediaTypeError extends NexusError {
  constructor(code: string, message: string) {
    super(415, code, message);
  }
}

/** A storage or dependency fault that a later retry can get past. */
export class UnavailableError extends NexusError {
  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(503, 'unavailable', message, { retryAfterSeconds: 5, ...options });
  }
}

/** 501: this deployment does not offer the feature; the message says what would. */
export class NotImplementedError extends NexusError {
  constructor(code: string, message: string) {
    super(501, code, message);
  }
}

/** The server's disk is full: nothing was stored, and a retry succeeds once space is freed. */
export class InsufficientStorageError extends NexusError {
  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(507, 'insufficient_storage', message, { retryAfterSeconds: 60, ...options });
  }
}

/**
 * A write failed for lack of space: `ENOSPC`, a quota (`EDQUOT`), or SQLite's "database or disk
 * is full" (SQLITE_FULL), also when wrapped as another error's cause.
 */
export function isDiskFull(caught: unknown): boolean {
  for (let error = caught, depth = 0; error instanceof Error && depth < 5; depth += 1) {
    const code = errorCode(error);
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    if (/database or disk is full|SQLITE_FULL|no space left on device/i.test(error.message))
      return true;
    error = error.cause;
  }
  return false;
}

/** Normalises whatever a `catch` caught into an `Error`, so callers never handle `unknown`. */
export function coerceError(caught: unknown): Error {
  if (caught instanceof Error) return caught;
  if (typeof caught === 'string') return new Error(caught);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(caught)}`);
  } catch {
    return new Error(`non-error thrown: ${String(caught)}`);
  }
}

/** The `code` of a caught error (`ENOENT`, `EADDRINUSE`, `ERR_PARSE_ARGS_…`), if it has one. */
export function errorCode(caught: unknown): string | undefined {
  return caught instanceof Error && 'code' in caught && typeof caught.code === 'string'
    ? caught.code
    : undefined;
}

/** A configuration the program cannot run with; the message names each problem and its fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A command line the program cannot run with; the message says what to do instead. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

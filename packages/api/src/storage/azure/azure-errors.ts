import {
  AlreadyExistsError,
  NexusError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
  coerceError,
} from '@nexus/core';

/** The fields of an SDK `RestError` that decide what it means. */
function restFields(error: unknown): { status: number | undefined; code: string | undefined } {
  if (typeof error !== 'object' || error === null) return { status: undefined, code: undefined };
  const status =
    'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return { status, code };
}

export function azureStatus(error: unknown): number | undefined {
  return restFields(error).status;
}

export function azureCode(error: unknown): string | undefined {
  return restFields(error).code;
}

/**
 * Turns an Azure SDK error into the project's own: 409 exists, 412 ETag mismatch, 404 missing,
 * throttling and server faults as retryable `UnavailableError`. Our own errors pass through.
 */
export function translateAzureError(error: unknown, what: string): Error {
  if (error instanceof NexusError) return error;
  const { status, code } = restFields(error);
  const detail = code ? ` (${code})` : '';
  if (status === 409)
    return new AlreadyExistsError(`${what} already exists${detail}.`, { cause: error });
  if (status === 412)
    return new PreconditionFailedError(`${what} changed since it was read${detail}.`, {
      cause: error,
    });
  if (status === 404) return new NotFoundError(`${what} was not found${detail}.`);
  if (status === undefined || status === 408 || status === 429 || status >= 500) {
    const reason = status === undefined ? coerceError(error).message : `HTTP ${status}${detail}`;
    return new UnavailableError(`Azure Storage did not complete ${what}: ${reason}.`, {
      cause: error,
    });
  }
  return coerceError(error);
}

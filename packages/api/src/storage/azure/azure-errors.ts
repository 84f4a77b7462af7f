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
  const code =
    'code' in error && typeof error.code === 'string' ? error.code : serviceErrorCode(error);
  return { status, code };
}

/**
 * The table SDK leaves `code` unset on some failures (entity calls on a missing table): the
 * service's code is then in the `x-ms-error-code` header of the response.
 */
function serviceErrorCode(error: object): string | undefined {
  if (!('response' in error) || typeof error.response !== 'object' || error.response === null)
    return undefined;
  const { headers } = error.response as { headers?: { get?: (name: string) => unknown } };
  const code = typeof headers?.get === 'function' ? headers.get('x-ms-error-code') : undefined;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/**
 * Azure's answer when the container or the table itself is gone (deleted by hand, a storage
 * account replaced), not one blob or row: never a 404 to a client, whose request was fine.
 */
export function isMissingStorage(error: unknown): boolean {
  const { code } = restFields(error);
  return code === 'ContainerNotFound' || code === 'TableNotFound';
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
  // The container or table itself: the request was fine, the storage is not (the stores
  // recreate it and retry once; if this still comes through, the client retries later).
  if (status === 404 && isMissingStorage(error))
    return new UnavailableError(`Azure Storage did not complete ${what}: ${code}.`, {
      cause: error,
      retryAfterSeconds: 30,
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

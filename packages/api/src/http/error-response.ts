import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import {
  InsufficientStorageError,
  MethodNotAllowedError,
  NexusError,
  coerceError,
  isDiskFull,
  type ErrorBody,
} from '@nexus/core';

/**
 * The one place errors become HTTP responses: our named errors keep their status, code and
 * message; anything else is a fault, logged with its stack and answered 500 without details.
 */
export function errorResponse(
  caught: unknown,
  logger: Logger,
  context: { method: string; path: string },
): Response {
  let error = coerceError(caught);
  // A full disk met outside the storage backends (a spooled usage ledger): still a 507.
  if (!(error instanceof NexusError) && isDiskFull(error)) {
    const where = 'path' in error && typeof error.path === 'string' ? ` (${error.path})` : '';
    error = new InsufficientStorageError(
      `No space left on the server's disk${where}: nothing was stored. Free space there; retry later.`,
      { cause: error },
    );
  }
  if (error instanceof NexusError) {
    const headers = new Headers({ 'content-type': 'application/json' });
    if (error.retryAfterSeconds !== undefined)
      headers.set('retry-after', String(error.retryAfterSeconds));
    if (error instanceof MethodNotAllowedError) headers.set('allow', error.allow.join(', '));
    if (error.status === 401) headers.set('www-authenticate', 'Bearer realm="nexus"');
    if (error.status >= 500)
      logger.warn({ err: error, ...context }, 'request failed: %s', error.message);
    return json({ error: { code: error.code, message: error.message } }, error.status, headers);
  }
  if (error instanceof HTTPException) {
    return json(
      { error: { code: 'http_error', message: error.message || 'The request was refused.' } },
      error.status,
    );
  }
  logger.error({ err: error, ...context }, 'unexpected error');
  return json(
    {
      error: {
        code: 'internal_error',
        message: 'The server failed to handle this request; it was logged. Retry later.',
      },
    },
    500,
  );
}

function json(
  body: ErrorBody,
  status: number,
  headers = new Headers({ 'content-type': 'application/json' }),
): Response {
  return new Response(JSON.stringify(body), { status, headers });
}

import { NexusError, errorCode } from '@nexus/core';

/** How a request body's stream fails when the client goes away part-way (Node and web streams). */
const ABORT_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR', 'EPIPE']);

/**
 * The client closed the connection while its request was read: the request's signal says so,
 * or the body's stream failed the way an aborted upload does. Our own errors never count.
 */
export function isClientAbort(error: unknown, request: Request): boolean {
  if (error instanceof NexusError) return false;
  if (request.signal.aborted) return true;
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth += 1) {
    if (ABORT_CODES.has(errorCode(cause) ?? '') || cause.name === 'AbortError') return true;
    if (cause.message === 'aborted') return true;
    cause = cause.cause;
  }
  return false;
}

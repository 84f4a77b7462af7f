import { coerceError } from '@nexus/core';
import type { FetchApp } from './http-adapter.ts';

/**
 * When the app cannot start (a missing setting, storage unreachable), the request gets a 503
 * saying why; the next request tries to start again.
 */
export function startupFailureApp(caught: unknown): FetchApp {
  const error = coerceError(caught);
  console.error(`Nexus could not start: ${error.message}`);
  return {
    fetch: () =>
      new Response(
        JSON.stringify({
          error: { code: 'not_configured', message: `Nexus could not start: ${error.message}` },
        }),
        { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '60' } },
      ),
  };
}

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

/** What the adapter needs of the app: Hono's `fetch`, nothing more. */
export interface FetchApp {
  fetch(request: Request, env?: { clientAddress?: string }): Response | Promise<Response>;
}

/**
 * Translates between Azure Functions' HTTP types and the Fetch API, in both directions, and does
 * nothing else: the app is the same one the Node server runs. Bodies stay streams (the host must
 * run with `enableHttpStream`), so uploads are not buffered in the function's memory.
 */
export function createHttpHandler(getApp: () => Promise<FetchApp>) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const app = await getApp();
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
    const init: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      headers: request.headers,
      ...(hasBody ? { body: request.body, duplex: 'half' } : {}),
    };
    // Behind the Functions front end the client is the first address of X-Forwarded-For (with
    // its port); the app throttles failed authentications by it.
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
    const response = await app.fetch(
      new Request(request.url, init),
      forwarded ? { clientAddress: forwarded } : {},
    );
    if (response.status >= 500)
      context.warn(
        `${request.method} ${new URL(request.url).pathname} answered ${response.status}`,
      );
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      ...(response.body === null ? {} : { body: response.body }),
    };
  };
}

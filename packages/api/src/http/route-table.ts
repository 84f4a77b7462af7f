import { MethodNotAllowedError } from '@nexus/core';
import type { NexusApp, NexusContext } from './app-env.ts';

export type RouteHandler = (c: NexusContext) => Response | Promise<Response>;
type Method = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';

/**
 * Registers a path's handlers and answers every other method with 405 and an `Allow` header,
 * instead of the framework's 404: the path exists, the method is what is wrong.
 */
export function route(
  app: NexusApp,
  path: string,
  handlers: Partial<Record<Method, RouteHandler>>,
): void {
  const allow = Object.keys(handlers);
  for (const [method, handler] of Object.entries(handlers)) app.on(method, path, handler);
  if (allow.includes('GET')) allow.push('HEAD');
  app.all(path, (c) => {
    throw new MethodNotAllowedError(c.req.method, allow);
  });
}

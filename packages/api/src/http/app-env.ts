import type { Context, Hono } from 'hono';
import type { Principal } from '../auth/principal.ts';

/** What the auth middleware leaves on the context for the routes: who is asking. */
export interface AppEnv {
  Variables: { principal: Principal };
}

export type NexusApp = Hono<AppEnv>;
export type NexusContext = Context<AppEnv>;

/**
 * The client's address, for throttling failed authentications: the Node server's socket, or
 * what the Azure Functions adapter passes (its front end's `X-Forwarded-For`).
 */
export function clientAddressOf(c: { readonly env: unknown }): string {
  const env = c.env as
    { clientAddress?: string; incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.clientAddress ?? env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

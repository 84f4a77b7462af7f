import type { Context } from 'hono';
import { Readable } from 'node:stream';
import type { ByteSource } from '@nexus/core';

/** A `Content-Length` header as a number, when it is one. */
export function parseContentLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * A large body as a stream: on the Node server the request itself (`c.env.incoming` from
 * @hono/node-server), which spares every chunk a trip through a web stream (bench B2); elsewhere
 * (Azure Functions) the web body.
 */
export function streamOf(c: Context): ByteSource {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof Readable) return incoming;
  return c.req.raw.body ?? emptyBody();
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {
  // A PUT without a body: the reader of the body reports what is missing.
}

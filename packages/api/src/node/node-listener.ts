import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import type { NexusApp } from '../http/app-env.ts';
import type { Logger } from 'pino';

/** The limits the Node server holds connections to (README, "Configuration"). */
export interface ConnectionLimits {
  /** The whole request line and headers must arrive within this (slow-header clients). */
  readonly headersTimeoutMs: number;
  /** A whole request: uploads of hundreds of MB over a home uplink take minutes. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this are closed as soon as they are accepted. */
  readonly maxConnections: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60 * 60 * 1000,
  keepAliveTimeoutMs: 15_000,
  maxConnections: 1000,
};

/**
 * The Node side of the app: Hono's request listener, plus what only a Node server has to decide.
 * - A request answered before its body was read (a 400 or 413 part-way through an upload) closes
 *   its connection: the unread rest of the body would otherwise be taken for the next request,
 *   or hold it until a reset.
 * - During shutdown, a request that arrives on a kept-alive connection is answered 503 with
 *   `Connection: close`; the requests in flight finish (`drain`).
 * - Errors Node answers by itself (a malformed request, headers too large, no Host) get the same
 *   JSON error body as every other error.
 */
export class NodeListener {
  private readonly hono: ReturnType<typeof getRequestListener>;
  private readonly limits: ConnectionLimits;
  private readonly logger: Logger;
  private closing = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The responses of the requests in flight: told to close their connection at shutdown. */
  private readonly responses = new Set<ServerResponse>();

  constructor(app: NexusApp, limits: ConnectionLimits, logger: Logger) {
    this.limits = limits;
    this.logger = logger;
    this.hono = getRequestListener(
      async (request, env: HttpBindings | Http2Bindings) => {
        const response = await app.fetch(request, env);
        if (
          'complete' in env.incoming &&
          !env.incoming.complete &&
          'shouldKeepAlive' in env.outgoing
        )
          env.outgoing.shouldKeepAlive = false;
        return response;
      },
      {
        // The URL or Host header NexusApp could not build a request from (a backslash, `OPTIONS *`).
        errorHandler: (error) =>
          jsonError(400, 'bad_request', `The request is malformed: ${reasonOf(error)}.`),
      },
    );
  }

  /** Applies the limits to `server` and routes its requests and client errors here. */
  attach(server: Server): void {
    server.headersTimeout = this.limits.headersTimeoutMs;
    server.requestTimeout = this.limits.requestTimeoutMs;
    server.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    server.maxConnections = this.limits.maxConnections;
    server.on('request', (incoming: IncomingMessage, outgoing: ServerResponse) => {
      this.handle(incoming, outgoing);
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      this.clientError(error, socket);
    });
  }

  /** No new requests from now on; resolves once those in flight have finished. */
  async drain(): Promise<void> {
    this.closing = true;
    for (const outgoing of this.responses)
      if (!outgoing.headersSent) outgoing.shouldKeepAlive = false;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private handle(incoming: IncomingMessage, outgoing: ServerResponse): void {
    if (this.closing) {
      outgoing.shouldKeepAlive = false;
      writeJson(outgoing, 503, 'shutting_down', 'The server is shutting down; retry shortly.', {
        'retry-after': '5',
      });
      return;
    }
    if (incoming.headers.host === undefined && incoming.httpVersion === '1.1') {
      // Node's own check answers without a body; this one says what is missing.
      outgoing.shouldKeepAlive = false;
      writeJson(outgoing, 400, 'bad_request', 'An HTTP/1.1 request needs a Host header.');
      return;
    }
    this.responses.add(outgoing);
    const handled = this.hono(incoming, outgoing).finally(() => {
      this.inFlight.delete(handled);
      this.responses.delete(outgoing);
    });
    this.inFlight.add(handled);
  }

  private clientError(error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'The request headers are too large (at most 16 KB).']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request_timeout', 'The request took too long to arrive; send it again.']
          : [
              400,
              'bad_request',
              `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'}).`,
            ];
    this.logger.info({ status, code: error.code }, 'malformed request refused');
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${String(status)} ${REASONS[status] ?? 'Error'}\r\n` +
        'content-type: application/json\r\n' +
        `content-length: ${String(Buffer.byteLength(body))}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : 'unreadable request';
}

function jsonError(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

function writeJson(
  outgoing: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: { code, message } });
  outgoing.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  outgoing.end(body);
}

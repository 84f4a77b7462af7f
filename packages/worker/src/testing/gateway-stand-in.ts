import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stand-in accepted. */
export interface GatewayHit {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly rawBody: string;
  readonly headers: IncomingMessage['headers'];
  readonly at: number;
}

export interface GatewayStandInOptions {
  readonly token: string;
  /** `hooks.maxBodyBytes`; OpenClaw's default is 256 KiB. */
  readonly maxBodyBytes?: number;
  /** Mapping names that exist (`POST /hooks/<name>`); others answer 404. */
  readonly mappings?: readonly string[];
  readonly port?: number;
}

/**
 * A local HTTP server that answers like the OpenClaw gateway's incoming hooks, as OPENCLAW.md
 * describes them: bearer or `X-OpenClaw-Token` auth (401 otherwise, query tokens refused), 405 for
 * anything but POST, 413 `{ok:false,error}` over the body limit, 400 for bad JSON, 429 with
 * `Retry-After` when told to be busy; `/hooks/agent` answers 200 `{ok:true,runId}` and, like the
 * gateway, starts one run per `idempotencyKey`. It can be stopped and started on the same port to
 * play a gateway that is down and comes back.
 */
export class GatewayStandIn {
  readonly hits: GatewayHit[] = [];
  /** Each `/hooks/agent` idempotency key once, in the order runs started. */
  readonly runs = new Map<string, GatewayHit>();
  /** While > 0, requests are answered 429 with this many seconds in `Retry-After`. */
  busySeconds = 0;
  busyAnswers = 0;
  /** Called for each accepted request before it is answered (tests kill the worker here). */
  onHit: ((hit: GatewayHit) => void) | undefined;
  private readonly options: GatewayStandInOptions;
  private server: Server | undefined;
  private port: number;

  constructor(options: GatewayStandInOptions) {
    this.options = options;
    this.port = options.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Down: the port refuses connections until `start()`. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? '/', 'http://gateway');
    if (!url.pathname.startsWith('/hooks/')) {
      answer(404, { ok: false, error: 'not found' });
      return;
    }
    if (request.method !== 'POST') {
      answer(405, { ok: false, error: 'method not allowed' });
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ?? request.headers['x-openclaw-token'];
    if (url.searchParams.has('token') || token !== this.options.token) {
      answer(401, { ok: false, error: 'unauthorized' });
      return;
    }
    const limit = this.options.maxBodyBytes ?? 256 * 1024;
    const parts: Buffer[] = [];
    let size = 0;
    for await (const part of request as AsyncIterable<Buffer>) {
      size += part.length;
      if (size > limit) {
        answer(413, { ok: false, error: 'payload too large' });
        return;
      }
      parts.push(part);
    }
    if (this.busySeconds > 0) {
      this.busyAnswers += 1;
      answer(429, { ok: false, error: 'busy' }, { 'retry-after': String(this.busySeconds) });
      return;
    }
    const rawBody = Buffer.concat(parts).toString('utf8');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(rawBody) as Record<string, unknown>;
    } catch {
      answer(400, { ok: false, error: 'invalid JSON' });
      return;
    }
    const hit = { path: url.pathname, body, rawBody, headers: request.headers, at: Date.now() };
    const name = url.pathname.slice('/hooks/'.length);
    if (name === 'wake') {
      if (typeof body['text'] !== 'string') {
        answer(400, { ok: false, error: 'text required' });
        return;
      }
      this.hits.push(hit);
      answer(200, { ok: true, mode: body['mode'] ?? 'now' });
      return;
    }
    if (name === 'agent') {
      if (typeof body['message'] !== 'string') {
        answer(400, { ok: false, error: 'message required' });
        return;
      }
      this.hits.push(hit);
      const key = typeof body['idempotencyKey'] === 'string' ? body['idempotencyKey'] : undefined;
      if (key !== undefined && !this.runs.has(key)) this.runs.set(key, hit);
      this.onHit?.(hit);
      answer(200, { ok: true, runId: `run-${key ?? String(this.hits.length)}` });
      return;
    }
    if (!(this.options.mappings ?? []).includes(name)) {
      answer(404, { ok: false, error: `no mapping ${name}` });
      return;
    }
    this.hits.push(hit);
    answer(202, { ok: true });
  }
}

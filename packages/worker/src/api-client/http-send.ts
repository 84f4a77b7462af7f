import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, Transform } from 'node:stream';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpSendOptions {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes (sent with a Content-Length) or a stream (sent chunked). */
  readonly body?: Uint8Array | string | Readable | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** No byte in either direction for this long means the other end is stuck: the request fails. */
const IDLE_TIMEOUT_MS = 300_000;

/**
 * Idle kept-alive connections are closed after 4 s: sooner than the servers the worker meets
 * close them (the Nexus server after 15 s, Node's default 5 s, proxies often more), so a request
 * is never sent on a connection the other end is closing; a shorter `Keep-Alive: timeout` from
 * the server is honoured by Node's agent.
 */
const FREE_SOCKET_TIMEOUT_MS = 4000;

/**
 * A proxy from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` when `NODE_USE_ENV_PROXY=1`, the switch
 * with which Node's own `fetch` and global agents honour them (read when this module loads).
 */
const proxyEnv = process.env['NODE_USE_ENV_PROXY'] === '1' ? { proxyEnv: process.env } : {};

const agents = {
  'http:': new HttpAgent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, ...proxyEnv }),
  'https:': new HttpsAgent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, ...proxyEnv }),
};

/** Passes a stream through, failing it if it is not exactly `length` bytes long. */
function exactLength(length: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > length) {
        callback(new Error(`the body is longer than its Content-Length of ${length} bytes`));
      } else {
        callback(null, chunk);
      }
    },
    flush(callback) {
      callback(
        seen === length
          ? null
          : new Error(
              `the body ended after ${seen} of the ${length} bytes its Content-Length says`,
            ),
      );
    },
  });
}

/**
 * One HTTP request with Node's own client on kept-alive connections. The worker's uploads used
 * `fetch` first; its web-stream machinery cost four times the CPU of a plain request per call
 * (0.25 against 0.06 ms for a 13 KB upload), which was a sixth of the worker's time in bench B1.
 * Redirects are not followed: the API answers where it is configured.
 */
export function httpSend(url: string, options: HttpSendOptions): Promise<HttpAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:') {
    return Promise.reject(new Error(`${url} is not an http:// or https:// URL`));
  }
  const { body } = options;
  const headers: Record<string, string | number> = { ...options.headers };
  if (typeof body === 'string' || body instanceof Uint8Array)
    headers['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)(
      target,
      {
        method: options.method,
        headers,
        agent: agents[secure ? 'https:' : 'http:'],
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('error', reject);
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts),
          });
        });
      },
    );
    request.on('error', reject);
    request.setTimeout(IDLE_TIMEOUT_MS, () => {
      request.destroy(new Error(`no answer from ${target.host} for ${IDLE_TIMEOUT_MS / 1000} s`));
    });
    if (!(body instanceof Readable)) {
      request.end(body);
      return;
    }
    body.on('error', (error) => request.destroy(error));
    // An answer before the whole body was sent (a 413, say) must not leave the file open.
    request.on('close', () => body.destroy());
    const announced = headers['content-length'];
    if (announced === undefined) {
      body.pipe(request);
      return;
    }
    // A stream that turns out shorter or longer than its Content-Length fails the request at once,
    // instead of the API waiting for bytes that never come, or reading the rest as a request.
    const exact = exactLength(Number(announced));
    exact.on('error', (error) => request.destroy(error));
    body.pipe(exact).pipe(request);
  });
}

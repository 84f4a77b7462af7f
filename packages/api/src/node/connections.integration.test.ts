import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { loadApiConfig } from '../config/api-config.ts';
import { startServer, type RunningServer } from './start-server.ts';

const KEY = 'connections-test-key';
const SHA = 'a'.repeat(64);

interface Log {
  level: number;
  msg: string;
  status?: number;
  err?: unknown;
}

async function start(
  options: Parameters<typeof startServer>[2] = {},
  env: Record<string, string> = {},
): Promise<{ server: RunningServer; logs: Log[]; port: number }> {
  const logs: Log[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.startsWith('{')) logs.push(JSON.parse(line) as Log);
      done();
    },
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'nexus-conn-'));
  const config = loadApiConfig({
    NEXUS_DATA_DIR: dataDir,
    NEXUS_PORT: '0',
    NEXUS_API_KEYS: KEY,
    ...env,
  });
  const server = await startServer(config, pino({ level: 'info' }, sink), options);
  return { server, logs, port: Number(new URL(server.url).port) };
}

/** A raw socket: what a client sends byte for byte, and everything the server answers. */
function rawSocket(port: number) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) =>
    socket.once('close', () => {
      resolve();
    }),
  );
  return {
    socket,
    received: () => received,
    ended,
    /** Resolves once a whole response (headers and a Content-Length body) has arrived. */
    async response(timeoutMs = 5000): Promise<{ status: number; headers: string; body: string }> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const head = received.indexOf('\r\n\r\n');
        if (head >= 0) {
          const headers = received.slice(0, head).toLowerCase();
          const length = Number(/content-length: (\d+)/.exec(headers)?.[1] ?? 0);
          const body = received.slice(head + 4, head + 4 + length);
          if (body.length === length) {
            received = received.slice(head + 4 + length);
            return { status: Number(headers.slice(9, 12)), headers, body };
          }
        }
        if (Date.now() > deadline)
          throw new Error(`no whole response: ${JSON.stringify(received)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

function closedWithin(ended: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([
    ended.then(() => true),
    new Promise<boolean>((resolve) =>
      setTimeout(() => {
        resolve(false);
      }, ms),
    ),
  ]);
}

const uploadHead = (extra: string) =>
  `PUT /v1/agents/main/sessions/s1/transcripts/${SHA}?fileName=s1.jsonl HTTP/1.1\r\n` +
  `Host: localhost\r\nAuthorization: Bearer ${KEY}\r\n${extra}\r\n`;

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('the Node server on the wire', () => {
  it('closes the connection after refusing a streamed upload part-way, instead of hanging the next request', async () => {
    const { server, port } = await start();
    running = server;
    const client = rawSocket(port);
    const junk = Buffer.alloc(64 * 1024, 'x').toString();
    client.socket.write(uploadHead('Transfer-Encoding: chunked\r\n'));
    client.socket.write(`${(11).toString(16)}\r\nnot a json\n\r\n`);
    for (let i = 0; i < 32; i += 1)
      client.socket.write(`${junk.length.toString(16)}\r\n${junk}\r\n`);
    const answer = await client.response();
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('connection: close');
    expect(await closedWithin(client.ended, 3000)).toBe(true);
  });

  it('closes the connection after a 413 for an announced length over the limit', async () => {
    const { server, port } = await start({}, { NEXUS_MAX_TRANSCRIPT_BYTES: '2048' });
    running = server;
    const client = rawSocket(port);
    client.socket.write(uploadHead('Content-Length: 5000000\r\n'));
    client.socket.write(Buffer.alloc(100_000, 'x'));
    const answer = await client.response();
    expect(answer.status).toBe(413);
    expect(answer.headers).toContain('connection: close');
    expect(await closedWithin(client.ended, 3000)).toBe(true);
  });

  it('logs a client that went away mid-upload as an aborted request, not as a server fault', async () => {
    const { server, port, logs } = await start();
    running = server;
    const text = buildTranscript({ sessionId: 's1', turns: 2000 }).text;
    const client = rawSocket(port);
    client.socket.write(uploadHead(`Content-Length: ${String(Buffer.byteLength(text))}\r\n`));
    client.socket.write(text.slice(0, 300_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.socket.destroy();
    const deadline = Date.now() + 5000;
    while (!logs.some((l) => l.msg === 'request aborted by the client') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(logs.some((l) => l.msg === 'request aborted by the client' && l.level === 30)).toBe(
      true,
    );
    expect(logs.filter((l) => l.level >= 50 || l.status === 500)).toEqual([]);
  });

  it.each([
    [
      'a header line without a colon',
      'GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      400,
    ],
    ['no Host header', 'GET /v1/health HTTP/1.1\r\n\r\n', 400],
    ['a backslash in the path', 'GET /v1\\health HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    [
      'headers over 16 KB',
      `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
  ])('answers %s with a JSON error body', async (_case, raw, status) => {
    const { server, port } = await start();
    running = server;
    const client = rawSocket(port);
    client.socket.write(raw);
    const answer = await client.response();
    expect(answer.status).toBe(status);
    expect(answer.headers).toContain('content-type: application/json');
    const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(body.error.message.length).toBeGreaterThan(10);
  });

  it('cuts off a webhook sender that trickles its body, with a 408', async () => {
    const { server, port } = await start({ webhookReadTimeoutMs: 300 });
    running = server;
    const created = await fetch(`${server.url}/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'ep1', agentId: 'main', provider: 'github' }),
    });
    expect(created.status).toBe(201);
    const client = rawSocket(port);
    client.socket.write(
      'POST /hooks/ep1 HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: 1000\r\n\r\n{',
    );
    const answer = await client.response(3000);
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'request_timeout' } });
    expect(await closedWithin(client.ended, 3000)).toBe(true);
  });

  it('on shutdown refuses new requests on open connections, finishes the upload in flight, then closes storage', async () => {
    const { server, port, logs } = await start();
    const text = buildTranscript({ sessionId: 's2', turns: 3000 }).text;
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(text).digest('hex');
    // A kept-alive connection, idle between two requests.
    const idle = rawSocket(port);
    idle.socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await idle.response()).status).toBe(200);
    // An upload in flight: half its body sent.
    const upload = rawSocket(port);
    upload.socket.write(
      `PUT /v1/agents/main/sessions/s2/transcripts/${sha}?fileName=s2.jsonl HTTP/1.1\r\n` +
        `Host: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: ${String(Buffer.byteLength(text))}\r\n\r\n`,
    );
    const half = Math.floor(text.length / 2);
    upload.socket.write(text.slice(0, half));
    // A kept-alive connection whose next request is arriving when the shutdown begins.
    const late = rawSocket(port);
    late.socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await late.response()).status).toBe(200);
    late.socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));

    const closed = server.close();
    // The idle connection is closed at once.
    expect(await closedWithin(idle.ended, 1000)).toBe(true);
    late.socket.write('\r\n');
    const refused = await late.response();
    expect(refused.status).toBe(503);
    expect(refused.headers).toContain('connection: close');
    expect(refused.headers).toContain('retry-after');
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'shutting_down' } });

    // The upload in flight finishes, and its connection closes after the answer.
    upload.socket.write(text.slice(half));
    const stored = await upload.response();
    expect(stored.status).toBe(201);
    expect(stored.headers).toContain('connection: close');
    await closed;
    expect(await closedWithin(upload.ended, 1000)).toBe(true);
    expect(logs.filter((l) => l.level >= 50 || l.status === 500)).toEqual([]);
  });
});

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { httpSend } from './http-send.ts';
import { NexusClient, type TranscriptUploadRequest } from './nexus-client.ts';

type Reply = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on a loopback port that answers each request with the next reply. */
async function serverWith(replies: Reply[]) {
  const seen: {
    url: string;
    body: string;
    encoding: string | undefined;
    auth: string | undefined;
    length: string | undefined;
    transfer: string | undefined;
    prefer: string | undefined;
  }[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      seen.push({
        url: req.url ?? '',
        body,
        encoding: req.headers['content-encoding'],
        auth: req.headers.authorization,
        length: req.headers['content-length'],
        transfer: req.headers['transfer-encoding'],
        prefer: req.headers['prefer'] === undefined ? undefined : String(req.headers['prefer']),
      });
      const reply = replies[Math.min(seen.length - 1, replies.length - 1)];
      reply?.(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Reply =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

const request: TranscriptUploadRequest = {
  agentId: 'main',
  sessionId: 's1',
  sha256: 'a'.repeat(64),
  kind: 'reset',
  fileName: 's1.jsonl.reset.2026-02-02T20-29-47.344Z',
  encoding: 'identity',
  body: () => Readable.from([Buffer.from('{"type":"session","id":"s1"}\n')]),
};

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('NexusClient.uploadTranscript over a real socket', () => {
  it('sends the key, the query and a fresh body on every attempt, and retries 503 as Retry-After asks', async () => {
    const server = await serverWith([
      json(503, { error: { code: 'unavailable', message: 'busy' } }, { 'retry-after': '0' }),
      json(201, { status: 'created' }),
    ]);
    close = server.close;
    const retries: number[] = [];
    const client = new NexusClient({
      url: `${server.url}/`,
      apiKey: 'k',
      hostId: 'laptop',
      baseDelayMs: 1,
      random: () => 0,
      onRetry: (r) => retries.push(r.attempt),
    });
    expect(await client.uploadTranscript(request)).toEqual({
      outcome: 'stored',
      status: 'created',
    });
    expect(retries).toEqual([1]);
    expect(server.seen).toHaveLength(2);
    expect(
      server.seen.every(
        (s) => s.body === '{"type":"session","id":"s1"}\n' && s.auth === 'Bearer k',
      ),
    ).toBe(true);
    // Only the status is read: the rest of the answer would cross the uplink for nothing.
    expect(server.seen.map((s) => s.prefer)).toEqual(['return=minimal', 'return=minimal']);
    expect(server.seen[0]?.url).toBe(
      `/v1/hosts/laptop/agents/main/sessions/s1/transcripts/${'a'.repeat(64)}?kind=reset&fileName=s1.jsonl.reset.2026-02-02T20-29-47.344Z`,
    );
  });

  it("announces a streamed body's length when it is known, and streams chunked otherwise", async () => {
    const server = await serverWith([json(201, { status: 'created' })]);
    close = server.close;
    const client = new NexusClient({ url: server.url, apiKey: 'k', hostId: 'laptop' });
    const line = '{"type":"session","id":"s1"}\n';
    await client.uploadTranscript({ ...request, length: Buffer.byteLength(line) });
    await client.uploadTranscript(request);
    expect(server.seen.map((s) => [s.length, s.transfer, s.body])).toEqual([
      [String(Buffer.byteLength(line)), undefined, line],
      [undefined, 'chunked', line],
    ]);
  });

  it('fails at once, without a hang, when a stream is shorter or longer than its length', async () => {
    const server = await serverWith([json(201, { status: 'created' })]);
    close = server.close;
    const send = (announced: number) =>
      httpSend(`${server.url}/upload`, {
        method: 'PUT',
        headers: { 'content-length': String(announced) },
        body: Readable.from([Buffer.from('0123456789')]),
      });
    await expect(send(100)).rejects.toThrow(/content-length/i);
    await expect(send(5)).rejects.toThrow(/content-length/i);
    expect(server.seen).toEqual([]);
  });

  it("returns a 4xx as a rejection with the API's reason, without retrying", async () => {
    const server = await serverWith([
      json(400, { error: { code: 'invalid_json', message: 'Line 2: not valid JSON' } }),
    ]);
    close = server.close;
    const client = new NexusClient({
      url: server.url,
      apiKey: 'k',
      hostId: 'laptop',
      baseDelayMs: 1,
    });
    expect(await client.uploadTranscript(request)).toEqual({
      outcome: 'rejected',
      httpStatus: 400,
      code: 'invalid_json',
      message: 'Line 2: not valid JSON',
    });
    expect(server.seen).toHaveLength(1);
  });

  it('reads already_present, and reports a non-JSON error page by its status', async () => {
    const server = await serverWith([
      json(200, { status: 'already_present' }),
      (_q, res) => {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<h1>Not Found</h1>');
      },
    ]);
    close = server.close;
    const client = new NexusClient({ url: server.url, apiKey: 'k', hostId: 'laptop' });
    expect(await client.uploadTranscript(request)).toEqual({
      outcome: 'stored',
      status: 'already_present',
    });
    const notFound = await client.uploadTranscript(request);
    expect(notFound).toMatchObject({ outcome: 'refused', httpStatus: 404, code: 'http_404' });
    expect(notFound.outcome === 'refused' && notFound.message).toMatch(
      /no upload route: check NEXUS_URL.*<h1>Not Found<\/h1>/,
    );
  });

  it('gives up at once on 507 (the API is out of space), saying so, instead of retrying for minutes', async () => {
    const server = await serverWith([
      json(
        507,
        { error: { code: 'insufficient_storage', message: 'No space left in /srv/nexus' } },
        { 'retry-after': '60' },
      ),
    ]);
    close = server.close;
    const client = new NexusClient({ url: server.url, apiKey: 'k', hostId: 'laptop' });
    const outcome = await client.uploadTranscript(request);
    expect(outcome).toMatchObject({ outcome: 'failed' });
    expect(outcome.outcome === 'failed' && outcome.message).toMatch(
      /storage is full \(HTTP 507\): No space left in \/srv\/nexus/,
    );
    expect(server.seen).toHaveLength(1);
  });

  it('tells a refusal of the request (key, URL, storage) from a rejection of the content', async () => {
    const server = await serverWith([
      json(401, { error: { code: 'unauthorized', message: 'The API key is not valid' } }),
      json(404, { error: { code: 'not_found', message: 'container nexus was not found' } }),
      json(400, { error: { code: 'invalid_utf8', message: 'the bytes are not valid UTF-8' } }),
      json(400, { error: { code: 'invalid_file_name', message: 'not a plain file name' } }),
      json(413, { error: { code: 'payload_too_large', message: 'too large' } }),
      json(415, { error: { code: 'unsupported_content_encoding', message: 'br' } }),
    ]);
    close = server.close;
    const client = new NexusClient({ url: server.url, apiKey: 'k', hostId: 'laptop' });
    const outcomes = [];
    for (let i = 0; i < 6; i += 1) outcomes.push(await client.uploadTranscript(request));
    // A 400, 413 or 415 is about this file: the others go on. A 401 or 404 would meet them all.
    expect(outcomes.map((o) => o.outcome)).toEqual([
      'refused',
      'refused',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(outcomes[0]?.outcome === 'refused' && outcomes[0].message).toMatch(
      /refused the key: check NEXUS_API_KEY/,
    );
  });

  it('gives up after its attempts when nothing listens, saying why', async () => {
    const client = new NexusClient({
      url: 'http://127.0.0.1:9',
      apiKey: 'k',
      hostId: 'laptop',
      maxAttempts: 3,
      baseDelayMs: 1,
    });
    const outcome = await client.uploadTranscript(request);
    expect(outcome.outcome).toBe('failed');
    expect(outcome.outcome === 'failed' && outcome.message).toMatch(
      /gave up after 3 attempts: .*(ECONNREFUSED|fetch failed)/,
    );
    // Nothing answers: every other upload would meet the same, so the run stops.
    expect(outcome).toMatchObject({ stopsRun: true });
  });

  it('gives up on a server error that does not pass, without stopping the run for the other files', async () => {
    const server = await serverWith([
      json(500, { error: { code: 'internal_error', message: 'The server failed' } }),
    ]);
    close = server.close;
    const client = new NexusClient({
      url: server.url,
      apiKey: 'k',
      hostId: 'laptop',
      maxAttempts: 2,
      baseDelayMs: 1,
    });
    expect(await client.uploadTranscript(request)).toMatchObject({
      outcome: 'failed',
      stopsRun: false,
    });
    expect(server.seen).toHaveLength(2);
  });

  it('stops retrying at once when the worker is shutting down', async () => {
    const server = await serverWith([
      json(503, { error: { code: 'unavailable', message: 'busy' } }, { 'retry-after': '60' }),
    ]);
    close = server.close;
    const controller = new AbortController();
    const client = new NexusClient({
      url: server.url,
      apiKey: 'k',
      hostId: 'laptop',
      onRetry: () => {
        controller.abort();
      },
    });
    const started = Date.now();
    expect(await client.uploadTranscript(request, controller.signal)).toEqual({
      outcome: 'failed',
      message: 'stopped: the worker is shutting down',
      stopsRun: true,
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { loadApiConfig } from '../config/api-config.ts';
import { startServer, type RunningServer } from './start-server.ts';

/** Streams `chunks` as a chunked request body (no Content-Length) and returns status and body. */
function putStream(
  url: string,
  key: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    void (async () => {
      try {
        for await (const chunk of chunks) {
          if (req.destroyed || req.writableEnded) return;
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      } catch {
        // The server answered early and closed: the response above carries the outcome.
      }
    })();
  });
}

async function* repeat(head: string, line: string, times: number): AsyncIterable<Uint8Array> {
  await Promise.resolve();
  yield Buffer.from(head);
  const block = Buffer.from(line.repeat(100));
  for (let i = 0; i < times / 100; i += 1) yield block;
}

describe('the Node server over a real socket', () => {
  let server: RunningServer;
  let dataDir: string;
  let key: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nexus-server-'));
    const config = loadApiConfig({ NEXUS_DATA_DIR: dataDir, NEXUS_PORT: '0' });
    server = await startServer(config, pino({ level: 'silent' }));
    key = (await readFile(join(dataDir, 'api-key'), 'utf8')).trim();
  });
  afterAll(async () => {
    await server.close();
  });

  it('generates an API key readable by its owner only', async () => {
    expect(server.apiKeyFile).toBe(join(dataDir, 'api-key'));
    expect(key).toMatch(/^nxk_[A-Za-z0-9_-]{40,}$/);
    expect((await stat(join(dataDir, 'api-key'))).mode & 0o777).toBe(0o600);
    const unauthorized = await fetch(`${server.url}/v1/agents`);
    expect(unauthorized.status).toBe(401);
    expect(
      (await fetch(`${server.url}/v1/agents`, { headers: { authorization: `Bearer ${key}` } }))
        .status,
    ).toBe(200);
  });

  it('stores a 24 MB transcript sent in chunks without a length, byte for byte', async () => {
    const head = `${JSON.stringify({ type: 'session', version: 3, id: 'big' })}\n`;
    const line = `${JSON.stringify({ type: 'custom', id: 'x', customType: 'pad', data: 'p'.repeat(200) })}\n`;
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of repeat(head, line, 100_000)) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
    const sha = hash.digest('hex');
    const url = `${server.url}/v1/agents/main/sessions/big/transcripts/${sha}?fileName=big.jsonl`;
    const response = await putStream(url, key, repeat(head, line, 100_000));
    expect(response.status).toBe(201);
    const download = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    expect(download.headers.get('content-length')).toBe(String(size));
    const back = createHash('sha256');
    for await (const chunk of download.body ?? []) back.update(chunk as Uint8Array);
    expect(back.digest('hex')).toBe(sha);
  });

  it('answers a bad line early in a large upload with its 400, not a reset connection', async () => {
    const head = `${JSON.stringify({ type: 'session', version: 3, id: 'early' })}\nnot json\n`;
    const line = `${JSON.stringify({ type: 'custom', data: 'p'.repeat(200) })}\n`;
    const url = `${server.url}/v1/agents/main/sessions/early/transcripts/${'a'.repeat(64)}?fileName=early.jsonl`;
    const response = await putStream(url, key, repeat(head, line, 200_000));
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'invalid_json' } });
  });

  it('serves a transcript built like a real one, with its summary', async () => {
    const built = buildTranscript({ sessionId: 'real', turns: 20, toolEvery: 2, mirrors: true });
    const sha = createHash('sha256').update(built.text).digest('hex');
    const response = await fetch(
      `${server.url}/v1/agents/main/sessions/real/transcripts/${sha}?fileName=real.jsonl&kind=deleted`,
      {
        method: 'PUT',
        body: built.text,
        headers: { authorization: `Bearer ${key}` },
      },
    );
    expect(response.status).toBe(201);
    const session = (await (
      await fetch(`${server.url}/v1/agents/main/sessions/real`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).json()) as {
      session: { costUsd: number; kinds: string[] };
    };
    expect(session.session.kinds).toEqual(['deleted']);
    expect(session.session.costUsd).toBeCloseTo(built.expected.costUsd, 9);
  });
});

describe('failed authentication on the Node server', () => {
  it('answers a burst of wrong keys from one address with 429, and still serves the right key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nexus-throttle-'));
    const server = await startServer(
      loadApiConfig({ NEXUS_DATA_DIR: dataDir, NEXUS_PORT: '0' }),
      pino({ level: 'silent' }),
    );
    try {
      const key = (await readFile(join(dataDir, 'api-key'), 'utf8')).trim();
      const hosts = (bearer: string) =>
        fetch(`${server.url}/v1/hosts`, { headers: { authorization: `Bearer ${bearer}` } });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i += 1) statuses.push((await hosts(`wrong-${String(i)}`)).status);
      expect(statuses).toEqual([...Array<number>(10).fill(401), 429, 429]);
      expect((await hosts(key)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

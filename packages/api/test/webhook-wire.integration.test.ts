import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../src/testing/spawn-server.ts';

const KEY = 'wire-key-0123456789';
const SECRET = 'wire-shared-secret';

/** A raw POST: with Content-Length, or chunked (no length announced), as senders do both. */
function post(
  url: string,
  body: Buffer,
  chunked: boolean,
): Promise<{ status: number; body: string }> {
  const sig = createHmac('sha256', SECRET).update(body).digest('hex');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-sig': sig,
          ...(chunked ? {} : { 'content-length': String(body.length) }),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() });
        });
      },
    );
    req.on('error', reject);
    if (chunked) {
      for (let offset = 0; offset < body.length; offset += 1000)
        req.write(body.subarray(offset, offset + 1000));
      req.end();
    } else req.end(body);
  });
}

describe('webhook bodies over the wire', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-wire-')), {
      NEXUS_API_KEYS: KEY,
      NEXUS_MAX_WEBHOOK_BYTES: '4096',
    });
    const created = await fetch(`${server.url}/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'wire',
        agentId: 'wire',
        provider: 'hmac',
        header: 'x-sig',
        secrets: [SECRET],
      }),
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([
    ['announced with Content-Length', false],
    ['chunked', true],
  ])('stores a body at the limit byte for byte, %s', async (_label, chunked) => {
    const json = Buffer.from(JSON.stringify({ chunked, pad: 'é'.repeat(1000) }));
    const body = Buffer.concat([json, Buffer.alloc(4096 - json.length, 32)]);
    expect(body.length).toBe(4096);
    const answer = await post(`${server.url}/hooks/wire`, body, chunked);
    expect(answer.status).toBe(202);
    const { id } = JSON.parse(answer.body) as { id: string };
    const stored = await fetch(`${server.url}/v1/webhooks/wire/${id}/body`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(Buffer.from(await stored.arrayBuffer()).equals(body)).toBe(true);
  });

  it.each([
    ['announced with Content-Length', false],
    ['chunked', true],
  ])('refuses a body one byte over the limit with 413, %s', async (_label, chunked) => {
    const answer = await post(`${server.url}/hooks/wire`, Buffer.alloc(4097, 32), chunked);
    expect(answer.status).toBe(413);
    expect(answer.body).toMatch(/larger than 4096 bytes.*NEXUS_MAX_WEBHOOK_BYTES/);
  });
});

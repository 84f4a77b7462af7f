import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest, InvocationContext } from '@azure/functions';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Storage } from '@nexus/core';
import { buildTranscript } from '@nexus/core/testing';
import { createApp } from '../http/create-app.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { createFunctionsApp, lazily } from './functions-app.ts';
import { createHttpHandler, type FetchApp } from './http-adapter.ts';
import { startupFailureApp } from './startup-failure.ts';
import { createHash } from 'node:crypto';

const KEY = 'functions-key-0123456789';
const context = () => new InvocationContext({ functionName: 'nexus', invocationId: 'test' });

async function text(body: unknown): Promise<string> {
  return new Response(body as ReadableStream).text();
}

describe('the Azure Functions adapter (no Functions host needed)', () => {
  let storage: Storage;
  let handler: ReturnType<typeof createHttpHandler>;
  beforeAll(async () => {
    storage = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-func-')));
    const app = createApp({
      storage,
      storageKind: 'embedded',
      apiKeys: new ApiKeys([KEY]),
      logger: pino({ level: 'silent' }),
      maxTranscriptBytes: 1 << 20,
      version: 'test',
    });
    handler = createHttpHandler(() => Promise.resolve(app));
  });
  afterAll(async () => {
    await storage.close();
  });

  it('serves the open health route', async () => {
    const response = await handler(
      new HttpRequest({ method: 'GET', url: 'https://nexus.example/v1/health' }),
      context(),
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(await text(response.body))).toMatchObject({ status: 'ok' });
  });

  it('passes an upload body through and streams the download back', async () => {
    const transcript = buildTranscript({ sessionId: 'fn1', turns: 3 }).text;
    const sha = createHash('sha256').update(transcript).digest('hex');
    const url = `https://nexus.example/v1/agents/main/sessions/fn1/transcripts/${sha}`;
    const put = await handler(
      new HttpRequest({
        method: 'PUT',
        url: `${url}?fileName=fn1.jsonl`,
        headers: { authorization: `Bearer ${KEY}` },
        body: { string: transcript },
      }),
      context(),
    );
    expect(put.status).toBe(201);
    const get = await handler(
      new HttpRequest({ method: 'GET', url, headers: { authorization: `Bearer ${KEY}` } }),
      context(),
    );
    expect(get.status).toBe(200);
    expect(get.headers).toMatchObject({ 'content-type': 'application/x-ndjson; charset=utf-8' });
    expect(await text(get.body)).toBe(transcript);
  });

  it('throttles failed keys by the client address the front end forwards', async () => {
    const wrong = (address: string) =>
      handler(
        new HttpRequest({
          method: 'GET',
          url: 'https://nexus.example/v1/hosts',
          headers: {
            authorization: 'Bearer not-the-key-0123456789',
            'x-forwarded-for': `${address}:50123, 10.0.0.4`,
          },
        }),
        context(),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) statuses.push((await wrong('203.0.113.9')).status ?? 0);
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    expect((await wrong('198.51.100.20')).status).toBe(401);
  });

  it("keeps the app's errors: 401 with its header and JSON body", async () => {
    const response = await handler(
      new HttpRequest({ method: 'GET', url: 'https://nexus.example/v1/agents' }),
      context(),
    );
    expect(response.status).toBe(401);
    expect(response.headers).toMatchObject({ 'www-authenticate': 'Bearer realm="nexus"' });
    expect(JSON.parse(await text(response.body))).toMatchObject({
      error: { code: 'unauthorized' },
    });
  });
});

describe('createFunctionsApp', () => {
  it('refuses to start without Azure Storage, saying which settings to add', async () => {
    await expect(
      createFunctionsApp({ NEXUS_API_KEYS: 'functions-key-0123456789' }),
    ).rejects.toThrow(/AZURE_STORAGE_CONNECTION_STRING/);
  });

  it('refuses to start without API keys', async () => {
    await expect(
      createFunctionsApp({ AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString') }),
    ).rejects.toThrow(/NEXUS_API_KEYS/);
  });

  it('starts on Azure Storage (Azurite) and answers health through the adapter', async () => {
    const app = await createFunctionsApp({
      AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      NEXUS_API_KEYS: 'functions-key-0123456789',
      NEXUS_AZURE_CONTAINER: 'functions-test',
      NEXUS_AZURE_TABLE_PREFIX: 'fn',
      NEXUS_LOG_LEVEL: 'silent',
    });
    const response = await createHttpHandler(() => Promise.resolve(app))(
      new HttpRequest({ method: 'GET', url: 'https://nexus.example/v1/health' }),
      context(),
    );
    expect(JSON.parse(await text(response.body))).toEqual({
      status: 'ok',
      version: expect.any(String) as string,
      storage: 'azure',
    });
  });

  it('answers 503 with the reason while it cannot start, and tries again on the next request', async () => {
    let attempts = 0;
    const ok: FetchApp = { fetch: () => new Response('ok') };
    const getApp = lazily(() => {
      attempts += 1;
      return attempts === 1
        ? Promise.reject(new Error('storage unreachable'))
        : Promise.resolve(ok);
    });
    const handler = createHttpHandler(() => getApp().catch(startupFailureApp));
    const request = () =>
      new HttpRequest({ method: 'GET', url: 'https://nexus.example/v1/health' });
    const first = await handler(request(), context());
    expect(first.status).toBe(503);
    expect(await text(first.body)).toContain('storage unreachable');
    expect((await handler(request(), context())).status).toBe(200);
    await handler(request(), context());
    expect(attempts).toBe(2);
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createFunctionsRuntime,
  searchTimerHandler,
  type FunctionsRuntime,
} from '../src/azure-functions/functions-app.ts';
import { AzureKeyCredential } from '@azure/search-documents';
import pino from 'pino';
import { AzureSearchIndex } from '../src/search/azure-search-index.ts';
import { SearchIndexer } from '../src/search/search-indexer.ts';
import { TableSearchQueue } from '../src/search/table-search-queue.ts';
import { openEmbeddedStorage } from '../src/storage/embedded/open-embedded-storage.ts';
import { openAzureStorage } from '../src/storage/azure/open-azure-storage.ts';
import { SEARCH_QUEUE_TABLE } from '../src/search/table-search-queue.ts';
import { API_KEY, get, putTranscript, testApp } from '../src/testing/api-harness.ts';
import { spawnServer } from '../src/testing/spawn-server.ts';
import {
  startSearchServiceStandIn,
  type SearchServiceStandIn,
} from '../src/testing/search-service-standin.ts';

/**
 * Search on Azure Functions: Azure Storage is Azurite, Azure AI Search the STAND-IN of its REST
 * calls (it has no emulator). Two runtimes built from the same settings play two instances: the
 * one answering HTTP queues what uploads store and never indexes; the other runs the timer
 * function, which indexes what was queued, and a rebuild asked for over HTTP.
 */
describe('search on Azure Functions (Azurite, Azure AI Search stand-in)', () => {
  let service: SearchServiceStandIn;
  let http: FunctionsRuntime;
  let timer: FunctionsRuntime;
  let env: Record<string, string>;
  const line = (value: unknown) => JSON.stringify(value);
  const transcript = (sessionId: string, text: string) =>
    `${line({ type: 'session', id: sessionId, version: 3, timestamp: '2026-11-01T08:00:00Z' })}\n${line(
      {
        type: 'message',
        id: `${sessionId}-u`,
        timestamp: '2026-11-01T08:00:01Z',
        message: { role: 'user', content: text },
      },
    )}\n`;
  const search = async (q: string) => {
    const response = await get(http.app, `/v1/search?q=${encodeURIComponent(q)}`);
    expect(response.status).toBe(200);
    return (await response.json()) as {
      results: { sessionId: string }[];
      indexing: { pending: number };
    };
  };
  const status = async () =>
    (await (await get(http.app, '/v1/search/status')).json()) as {
      engine: string;
      messages: number;
      pending: number;
      rebuild: { finishedAt: string | null } | null;
    };
  const runTimer = searchTimerHandler(() => Promise.resolve(timer), 60_000);

  beforeAll(async () => {
    service = await startSearchServiceStandIn();
    const tag = randomBytes(4).toString('hex');
    env = {
      AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      NEXUS_API_KEYS: API_KEY,
      NEXUS_AZURE_CONTAINER: `fn-search-${tag}`,
      NEXUS_AZURE_TABLE_PREFIX: `fs${tag}`,
      NEXUS_SEARCH_ENDPOINT: service.endpoint,
      NEXUS_SEARCH_KEY: service.key,
      NEXUS_SEARCH_INDEX: `nexus-fn-${tag}`,
      NEXUS_LOG_LEVEL: 'silent',
    };
    http = await createFunctionsRuntime(env);
    timer = await createFunctionsRuntime(env);
  });
  afterAll(async () => {
    await service.close();
  });

  it('indexes what the HTTP instance stored when the timer runs, not before', async () => {
    const text = transcript('s1', 'the quarterly report is late');
    expect(
      (await putTranscript(http.app, text, text, { hostId: 'laptop', sessionId: 's1' })).status,
    ).toBe(201);
    const before = await search('quarterly');
    expect(before.results).toEqual([]);
    expect(before.indexing.pending).toBe(1);
    await runTimer();
    const after = await search('quarterly');
    expect(after.results.map((r) => r.sessionId)).toEqual(['s1']);
    expect(after.indexing.pending).toBe(0);
    expect(await status()).toMatchObject({ engine: 'azure-ai-search', messages: 1, pending: 0 });
    // The same content again (a worker that lost its state): stored already, not queued again.
    expect(
      (await putTranscript(http.app, text, text, { hostId: 'laptop', sessionId: 's1' })).status,
    ).toBe(200);
    expect((await search('quarterly')).indexing.pending).toBe(0);
  });

  it('runs a rebuild asked for over HTTP at the next timer run, to the same answers', async () => {
    const response = await http.app.request('/v1/search/rebuild', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(response.status).toBe(202);
    expect((await status()).rebuild?.finishedAt).toBeNull();
    expect(service.documents(env['NEXUS_SEARCH_INDEX'] ?? '').size).toBe(1);
    await runTimer();
    expect((await status()).rebuild?.finishedAt).toEqual(expect.any(String));
    expect((await search('quarterly')).results.map((r) => r.sessionId)).toEqual(['s1']);
  });

  it('starts a rebuild cut short by the deadline again at the next run', async () => {
    const text = transcript('s2', 'the annual review');
    expect(
      (await putTranscript(http.app, text, text, { hostId: 'laptop', sessionId: 's2' })).status,
    ).toBe(201);
    await runTimer();
    await http.search?.requestRebuild();
    // A deadline already past: the rebuild empties the index and stops before listing a session.
    const left = await timer.search?.drain(performance.now() - 1);
    expect(left).toMatchObject({ rebuilding: true });
    expect((await search('annual')).results).toEqual([]);
    await runTimer();
    expect((await status()).rebuild?.finishedAt).toEqual(expect.any(String));
    expect((await search('annual')).results.map((r) => r.sessionId)).toEqual(['s2']);
  });

  it('keeps a generation without a row while its upload may still be recording it, then drops it', async () => {
    const storage = await openAzureStorage({
      connectionString: env['AZURE_STORAGE_CONNECTION_STRING'] ?? '',
      container: env['NEXUS_AZURE_CONTAINER'] ?? '',
      tablePrefix: env['NEXUS_AZURE_TABLE_PREFIX'] ?? '',
    });
    try {
      const ghost = (queuedAtMs: number, suffix: string) =>
        storage.tables.insert(SEARCH_QUEUE_TABLE, {
          partitionKey: 'search',
          rowKey: `${String(queuedAtMs).padStart(13, '0')}_${suffix}`,
          properties: {
            hostId: 'laptop',
            agentId: 'main',
            sessionId: 'ghost',
            sha256: 'f'.repeat(64),
            fromByte: 0,
            fromLine: 0,
            queuedAtMs,
          },
        });
      await ghost(Date.now(), 'young');
      await ghost(Date.now() - 10 * 60_000, 'old');
      await runTimer();
      // The old one is dropped; the young one may yet get its row on another instance.
      expect((await status()).pending).toBe(1);
    } finally {
      await storage.close();
    }
  });
});

describe('search on the Node server with Azure storage (Azurite) and Azure AI Search (stand-in)', () => {
  it('indexes an upload in the background and finds it, as a process', async () => {
    const service = await startSearchServiceStandIn();
    const dataDir = await mkdtemp(join(tmpdir(), 'nexus-node-azure-search-'));
    const tag = randomBytes(4).toString('hex');
    const server = await spawnServer(dataDir, {
      AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      NEXUS_API_KEYS: API_KEY,
      NEXUS_AZURE_CONTAINER: `node-search-${tag}`,
      NEXUS_AZURE_TABLE_PREFIX: `ns${tag}`,
      NEXUS_SEARCH_ENDPOINT: service.endpoint,
      NEXUS_SEARCH_KEY: service.key,
    });
    try {
      const body = `${JSON.stringify({ type: 'session', id: 's1', version: 3 })}\n${JSON.stringify({
        type: 'message',
        id: 'm1',
        timestamp: '2026-11-01T08:00:01Z',
        message: { role: 'user', content: 'where did the kayak trip start' },
      })}\n`;
      const hash = createHash('sha256').update(body).digest('hex');
      const put = await fetch(
        `${server.url}/v1/hosts/laptop/agents/main/sessions/s1/transcripts/${hash}?kind=live&fileName=s1.jsonl`,
        { method: 'PUT', body, headers: { authorization: `Bearer ${API_KEY}` } },
      );
      expect(put.status).toBe(201);
      let found: { results: { entry: string }[] } = { results: [] };
      for (let attempt = 0; attempt < 100 && found.results.length === 0; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const response = await fetch(`${server.url}/v1/search?q=kayak`, {
          headers: { authorization: `Bearer ${API_KEY}` },
        });
        expect(response.status).toBe(200);
        found = (await response.json()) as typeof found;
      }
      expect(found.results.map((r) => r.entry)).toEqual(['m1']);
      const status = (await (
        await fetch(`${server.url}/v1/search/status`, {
          headers: { authorization: `Bearer ${API_KEY}` },
        })
      ).json()) as { engine: string };
      expect(status.engine).toBe('azure-ai-search');
      expect(service.calls.get('index')).toBeGreaterThan(0);
    } finally {
      await server.stop();
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the dashboard when Azure AI Search refuses the key', () => {
  it('shows what to check on the Search page instead of a server error', async () => {
    const service = await startSearchServiceStandIn();
    const dataDir = await mkdtemp(join(tmpdir(), 'nexus-dash-search-'));
    const storage = await openEmbeddedStorage(dataDir);
    const indexer = new SearchIndexer({
      storage,
      index: new AzureSearchIndex({
        endpoint: service.endpoint,
        indexName: 'nexus-refused',
        credential: new AzureKeyCredential('not-the-admin-key'),
      }),
      queue: new TableSearchQueue(storage.tables),
      logger: pino({ level: 'silent' }),
    });
    try {
      const app = testApp(storage, { search: indexer });
      const login = await app.request('/login', {
        method: 'POST',
        body: new URLSearchParams({ key: API_KEY, next: '/search' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const page = await app.request('/search?q=kayak', {
        headers: { cookie, accept: 'text/html' },
      });
      expect(page.status).toBe(200);
      const text = await page.text();
      expect(text).toContain('Azure AI Search could not');
      expect(text).toContain('NEXUS_SEARCH_KEY');
      expect(text).not.toContain('not-the-admin-key');
    } finally {
      await storage.close();
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { randomBytes } from 'node:crypto';
import { AzureKeyCredential } from '@azure/search-documents';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import { API_KEY, get, putTranscript, sha256, testApp } from '../src/testing/api-harness.ts';
import {
  startSearchServiceStandIn,
  type SearchServiceStandIn,
} from '../src/testing/search-service-standin.ts';
import { openEmbeddedStorage } from '../src/storage/embedded/open-embedded-storage.ts';
import { openAzureStorage } from '../src/storage/azure/open-azure-storage.ts';
import { AzureSearchIndex } from '../src/search/azure-search-index.ts';
import { SearchIndexer } from '../src/search/search-indexer.ts';
import { SqliteSearchIndex } from '../src/search/sqlite-search-index.ts';
import { TableSearchQueue } from '../src/search/table-search-queue.ts';

/**
 * Search over real uploads, fed by the ingest path, read through the HTTP app, on both engines:
 * SQLite FTS5 in a temp folder beside embedded storage, and Azure AI Search beside Azure storage
 * (Azurite; its queue in Table Storage). Azure AI Search has no emulator: that engine runs
 * against the stand-in of its REST calls (`testing/search-service-standin.ts`); the opt-in
 * contract test runs against the real service.
 */
interface Setup {
  readonly name: string;
  open(dir: string): Promise<{ storage: Storage; indexer: SearchIndexer; close(): Promise<void> }>;
}

const setups = (azurite: string): Setup[] => [
  {
    name: 'SQLite FTS5 on embedded storage',
    async open(dir) {
      const storage = await openEmbeddedStorage(join(dir, 'data'));
      const index = new SqliteSearchIndex(join(dir, 'search.sqlite'));
      const indexer = new SearchIndexer({
        storage,
        index,
        queue: index,
        logger: pino({ level: 'silent' }),
      });
      return { storage, indexer, close: () => storage.close() };
    },
  },
  {
    name: 'Azure AI Search (stand-in) on Azure storage (Azurite)',
    async open() {
      const service: SearchServiceStandIn = await startSearchServiceStandIn();
      const storage = await openAzureStorage({
        connectionString: azurite,
        container: `search-${randomBytes(4).toString('hex')}`,
        tablePrefix: `s${randomBytes(4).toString('hex')}`,
      });
      const indexer = new SearchIndexer({
        storage,
        index: new AzureSearchIndex({
          endpoint: service.endpoint,
          indexName: 'nexus-messages',
          credential: new AzureKeyCredential(service.key),
        }),
        queue: new TableSearchQueue(storage.tables),
        logger: pino({ level: 'silent' }),
        // One process here: a generation without a row is dropped at once, as on SQLite.
        rowGraceMs: 0,
      });
      return {
        storage,
        indexer,
        close: async () => {
          await storage.close();
          await service.close();
        },
      };
    },
  },
];
const line = (value: unknown) => JSON.stringify(value);
const header = (sessionId: string) =>
  line({ type: 'session', id: sessionId, version: 3, timestamp: '2026-11-01T08:00:00Z' });
const user = (id: string, text: string, time = '2026-11-01T08:00:01Z') =>
  line({ type: 'message', id, timestamp: time, message: { role: 'user', content: text } });
const assistant = (id: string, text: string, time = '2026-11-01T08:00:02Z') =>
  line({
    type: 'message',
    id,
    timestamp: time,
    message: { role: 'assistant', content: [{ type: 'text', text }] },
  });
const toolTurn = (id: string) => [
  line({
    type: 'message',
    id,
    timestamp: '2026-11-01T08:00:03Z',
    message: {
      role: 'assistant',
      content: [{ type: 'toolCall', id: `${id}-c`, name: 'exec', arguments: { command: 'df -h' } }],
    },
  }),
  line({
    type: 'message',
    id: `${id}-r`,
    timestamp: '2026-11-01T08:00:04Z',
    message: { role: 'toolResult', toolCallId: `${id}-c`, content: 'Filesystem full: zorbulator' },
  }),
];
const jsonl = (lines: string[]) => `${lines.join('\n')}\n`;

interface Result {
  hostId: string;
  agentId: string;
  sessionId: string;
  entry: string;
  role: string;
  snippet: { text: string; marks: [number, number][] };
  permalink: string;
}

describe.each(setups(inject('azuriteConnectionString')))('search with $name', (setup) => {
  let dir: string;
  let close: () => Promise<void>;
  let indexer: SearchIndexer;
  let app: NexusApp;
  const search = async (query: string, key: string = API_KEY) => {
    const response = await get(app, `/v1/search?${query}`, key);
    return { status: response.status, body: (await response.json()) as { results: Result[] } };
  };
  const ids = async (query: string) =>
    (await search(query)).body.results.map((r) => r.entry).sort();

  const day1 = jsonl([
    header('s-en'),
    user('u1', 'The nightly backup failed: disk full on /var'),
    assistant('a1', 'I freed 20 GB; the Café menu is unrelated. Resolution: rotate logs.'),
    ...toolTurn('t1'),
  ]);
  const grown = jsonl([
    ...day1.trimEnd().split('\n'),
    user('u2', 'Thanks! Now summarise the meeting', '2026-11-20T09:00:00Z'),
  ]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexus-search-'));
    const { storage, ...opened } = await setup.open(dir);
    indexer = opened.indexer;
    close = () => opened.close();
    indexer.start();
    app = testApp(storage, { search: indexer });
    const uploads: [string, string, string, string][] = [
      ['laptop', 'main', 's-en', day1],
      [
        'laptop',
        'main',
        's-zh',
        jsonl([header('s-zh'), user('z1', '明天下午的会议记录请整理一下')]),
      ],
      [
        'laptop',
        'helper',
        's-ja',
        jsonl([header('s-ja'), assistant('j1', '明日の会議は十時からです')]),
      ],
      [
        'desk',
        'main',
        's-ko',
        jsonl([
          header('s-ko'),
          user('k1', '내일 회의를 준비해 주세요'),
          user('k2', 'nightly backup on desk'),
        ]),
      ],
    ];
    for (const [hostId, agentId, sessionId, text] of uploads) {
      const response = await putTranscript(app, text, text, { hostId, agentId, sessionId });
      expect(response.status, await response.text()).toBe(201);
    }
    // The English session grows: an increment adds only its new message.
    const increment = await putTranscript(app, grown.slice(day1.length), grown, {
      hostId: 'laptop',
      sessionId: 's-en',
      query: `&base=${sha256(day1)}`,
    });
    expect(increment.status, await increment.text()).toBe(201);
    await indexer.idle();
  });

  afterAll(async () => {
    await indexer.close();
    await close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds words regardless of case and accents, with the match marked in a snippet', async () => {
    const { status, body } = await search('q=CAFE');
    expect(status).toBe(200);
    expect(body.results).toHaveLength(1);
    const [hit] = body.results;
    expect(hit).toMatchObject({
      hostId: 'laptop',
      agentId: 'main',
      sessionId: 's-en',
      entry: 'a1',
      role: 'assistant',
    });
    const [mark] = hit?.snippet.marks ?? [];
    expect(mark && hit?.snippet.text.slice(mark[0], mark[1])).toBe('Café');
    expect(hit?.permalink).toBe(
      `/hosts/laptop/agents/main/sessions/s-en?g=${sha256(day1)}&entry=a1#e-a1`,
    );
  });

  it('finds a two-character Chinese word, a Japanese word and a Korean word', async () => {
    expect(await ids('q=会议')).toEqual(['z1']);
    expect(await ids('q=会議')).toEqual(['j1']);
    expect(await ids('q=회의')).toEqual(['k1']);
    expect(await ids('q=会')).toEqual(['j1', 'z1']);
    expect(await ids('q=记录')).toEqual(['z1']);
  });

  it('supports phrases, prefixes and AND', async () => {
    expect(await ids('q="disk full"')).toEqual(['u1']);
    expect(await ids('q="full disk"')).toEqual([]);
    expect(await ids('q=resol*')).toEqual(['a1']);
    expect(await ids('q=nightly AND backup')).toEqual(['k2', 'u1']);
    expect(await ids('q=nightly meeting')).toEqual([]);
  });

  it('indexes an increment’s new message once, and the first upload’s messages once', async () => {
    expect(await ids('q=summarise')).toEqual(['u2']);
    expect((await search('q=nightly')).body.results.filter((r) => r.entry === 'u1')).toHaveLength(
      1,
    );
    // The transcript grown again, uploaded whole (not as an increment): only its new message.
    const whole = jsonl([
      ...grown.trimEnd().split('\n'),
      assistant('a3', 'Summary: ship it', '2026-11-20T09:00:05Z'),
    ]);
    const again = await putTranscript(app, whole, whole, { hostId: 'laptop', sessionId: 's-en' });
    expect(again.status, await again.text()).toBe(201);
    await indexer.idle();
    expect((await indexer.status()).messages).toBe(10);
    expect(await ids('q=summar*')).toEqual(['a3', 'u2']);
    expect((await search('q=nightly')).body.results.filter((r) => r.entry === 'u1')).toHaveLength(
      1,
    );
  });

  it('leaves tool calls and results out unless asked', async () => {
    expect(await ids('q=zorbulator')).toEqual([]);
    expect(await ids('q=zorbulator&tools=1')).toEqual(['t1-r']);
    expect(await ids('q=zorbulator&role=tool')).toEqual(['t1-r']);
  });

  it('filters by host, agent, session, role and time', async () => {
    expect(await ids('q=nightly&hostId=desk')).toEqual(['k2']);
    expect(await ids('q=会&agentId=helper')).toEqual(['j1']);
    expect(await ids('q=nightly&sessionId=s-en')).toEqual(['u1']);
    expect(await ids('q=the&role=assistant')).toEqual(['a1']);
    expect(await ids('q=thanks&from=2026-11-21')).toEqual([]);
    expect(await ids('q=thanks&from=2026-11-15&to=2026-12-01')).toEqual(['u2']);
    expect(await ids('q=thanks&to=2026-11-15')).toEqual([]);
  });

  it('shows a reader key only the hosts it may read', async () => {
    const created = await app.request('/v1/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'reader', hosts: ['desk'], label: 'desk reader' }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { key } = (await created.json()) as { key: string };
    const found = await search('q=nightly', key);
    expect(found.body.results.map((r) => r.hostId)).toEqual(['desk']);
    expect((await search('q=nightly&hostId=laptop', key)).status).toBe(403);
  });

  it('masks secrets in snippets; the message is still found by its words', async () => {
    const secret = `sk-proj-${'S'.repeat(40)}`;
    const text = jsonl([header('s-secret'), user('x1', `deploy with key ${secret} please`)]);
    expect(
      (await putTranscript(app, text, text, { hostId: 'laptop', sessionId: 's-secret' })).status,
    ).toBe(201);
    await indexer.idle();
    const [hit] = (await search('q=deploy')).body.results;
    expect(hit?.snippet.text).toBe('deploy with key [masked openai-key] please');
  });

  it.each([
    ['', 400, /q is the text to look for/],
    ['q=%22%22', 400, /nothing to search for/],
    ['q=a&role=robot', 400, /role must be/],
    ['q=a&tools=maybe', 400, /tools must be 1 or 0/],
    ['q=a&from=yesterday', 400, /from must be an ISO 8601 time/],
    ['q=a&hostId=Bad%20Host', 400, /host/i],
    ['q=a&limit=1000', 400, /limit/],
  ])('answers %j with %i and what to fix', async (query, status, message) => {
    const response = await get(app, `/v1/search?${query}`);
    expect(response.status).toBe(status);
    expect(JSON.stringify(await response.json())).toMatch(message);
  });

  it('never lets a hostile query reach FTS5 as syntax', async () => {
    for (const q of [
      'NEAR(a b)',
      'a:b',
      '-x',
      '^y',
      '"unclosed',
      'a OR',
      '*',
      'AND',
      '(',
      'x" OR "y',
    ])
      expect((await get(app, `/v1/search?q=${encodeURIComponent(q)}`)).status).not.toBe(500);
  });

  it('drops a queued generation that was never stored (its upload failed after queueing)', async () => {
    (
      await indexer.enqueue({
        hostId: 'laptop',
        agentId: 'main',
        sessionId: 'ghost',
        sha256: 'f'.repeat(64),
        fromByte: 0,
        fromLine: 0,
      })
    )();
    await indexer.idle();
    expect((await indexer.status()).pending).toBe(0);
  });

  it('forgets a session deleted over the API', async () => {
    expect(await ids('q=회의')).toEqual(['k1']);
    const response = await app.request('/v1/hosts/desk/agents/main/sessions/s-ko', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ deleted: { indexedMessages: 2 } });
    expect(await ids('q=회의')).toEqual([]);
    expect(await ids('q=nightly')).toEqual(['u1']);
  });

  it('rebuilds from storage to the same answers', async () => {
    const before = [await ids('q=nightly'), await ids('q=会'), await ids('q=zorbulator&tools=1')];
    const { messages } = await indexer.status();
    const response = await app.request('/v1/search/rebuild', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(response.status).toBe(202);
    await indexer.idle();
    expect((await indexer.status()).messages).toBe(messages);
    expect([await ids('q=nightly'), await ids('q=会'), await ids('q=zorbulator&tools=1')]).toEqual(
      before,
    );
  });
});

describe('search without an index', () => {
  it('answers 501 saying how to get one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-nosearch-'));
    const storage = await openEmbeddedStorage(dir);
    try {
      const response = await get(testApp(storage), '/v1/search?q=x');
      expect(response.status).toBe(501);
      expect(JSON.stringify(await response.json())).toMatch(/NEXUS_SEARCH_ENDPOINT/);
    } finally {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

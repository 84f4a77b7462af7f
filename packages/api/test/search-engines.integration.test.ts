import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureKeyCredential, SearchIndexClient } from '@azure/search-documents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '@nexus/core';
import { AzureSearchIndex, MESSAGE_FIELDS } from '../src/search/azure-search-index.ts';
import type { SearchDoc } from '../src/search/search-docs.ts';
import type { SearchFilters, SearchIndex } from '../src/search/search-index.ts';
import { parseQuery, searchTokens } from '../src/search/search-text.ts';
import { SqliteSearchIndex } from '../src/search/sqlite-search-index.ts';
import {
  startSearchServiceStandIn,
  type SearchServiceStandIn,
} from '../src/testing/search-service-standin.ts';

/**
 * One contract for every search engine: SQLite FTS5; Azure AI Search through the STAND-IN of its
 * REST calls (there is no emulator); and, opt-in, the real Azure AI Search service when
 * NEXUS_TEST_SEARCH_ENDPOINT and NEXUS_TEST_SEARCH_KEY are set (an index named
 * nexus-test-<random> is created and deleted). The real service makes documents searchable about
 * a second after they are written, so its engine waits that long after each write.
 */
interface Engine {
  readonly name: string;
  /** A new index, or the same one opened again (`again`). */
  open(again?: boolean): Promise<SearchIndex>;
  /** Written documents are searchable after this. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

const REAL_ENDPOINT = process.env['NEXUS_TEST_SEARCH_ENDPOINT'];
const REAL_KEY = process.env['NEXUS_TEST_SEARCH_KEY'];

function sqliteEngine(): Engine {
  let dir: string | undefined;
  const opened: SqliteSearchIndex[] = [];
  return {
    name: 'SQLite FTS5',
    async open(again = false) {
      if (!again) dir = await mkdtemp(join(tmpdir(), 'nexus-engine-'));
      const index = new SqliteSearchIndex(join(dir ?? '', 'search.sqlite'));
      opened.push(index);
      return index;
    },
    settle: () => Promise.resolve(),
    async close() {
      for (const index of opened) index.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

function azureEngine(
  name: string,
  service: () => { endpoint: string; key: string },
  settleMs: number,
): Engine {
  const indexName = `nexus-test-${randomBytes(4).toString('hex')}`;
  return {
    name,
    open: () => {
      const { endpoint, key } = service();
      return Promise.resolve(
        new AzureSearchIndex({ endpoint, indexName, credential: new AzureKeyCredential(key) }),
      );
    },
    settle: () => new Promise((resolve) => setTimeout(resolve, settleMs)),
    async close() {
      const { endpoint, key } = service();
      await new SearchIndexClient(endpoint, new AzureKeyCredential(key), {
        allowInsecureConnection: endpoint.startsWith('http://127.0.0.1'),
      })
        .deleteIndex(indexName)
        .catch(() => undefined);
    },
  };
}

let standIn: SearchServiceStandIn;
beforeAll(async () => {
  standIn = await startSearchServiceStandIn();
});
afterAll(async () => {
  await standIn.close();
});

const engines: Engine[] = [
  sqliteEngine(),
  azureEngine('Azure AI Search (stand-in)', () => standIn, 0),
];
if (REAL_ENDPOINT !== undefined && REAL_KEY !== undefined)
  engines.push(
    azureEngine(
      'Azure AI Search (real service)',
      () => ({ endpoint: REAL_ENDPOINT, key: REAL_KEY }),
      2500,
    ),
  );
else
  describe('Azure AI Search (real service)', () => {
    it.skip('needs NEXUS_TEST_SEARCH_ENDPOINT and NEXUS_TEST_SEARCH_KEY (an admin key)', () => {});
  });

const DAY = 86_400_000;
const START = Date.parse('2026-11-01T00:00:00Z');
const ALL = ['user', 'assistant', 'tool'] as const;
const generation = (sessionId: string, hostId = 'laptop', agentId = 'main', sha = 'a') => ({
  hostId,
  agentId,
  sessionId,
  sha256: sha.repeat(64),
});
const doc = (
  entry: string,
  text: string,
  options: { day?: number; role?: SearchDoc['role']; line?: number } = {},
): SearchDoc => ({
  entry,
  line: options.line ?? 0,
  role: options.role ?? 'user',
  timeMs: START + (options.day ?? 0) * DAY,
  text,
});

describe.each(engines)('the search contract on $name', (engine) => {
  let index: SearchIndex;
  const find = async (q: string, filters: Partial<SearchFilters> = {}) =>
    (await index.search(parseQuery(q), { roles: [...ALL], ...filters }, 50)).hits
      .map((hit) => `${hit.sessionId}/${hit.entry}`)
      .sort();

  beforeAll(async () => {
    index = await engine.open();
    expect(await index.open()).toBe(true);
    await index.add(
      generation('s-en'),
      [
        doc('u1', 'The nightly backup failed: disk full on /var', { line: 1 }),
        doc('a1', 'I freed 20 GB; the Café menu is unrelated. Resolution: rotate logs.', {
          role: 'assistant',
          line: 2,
        }),
        doc('t1', 'exec {"command":"df -h"} zorbulator', { role: 'tool', line: 3 }),
      ],
      true,
    );
    await index.add(
      generation('s-zh'),
      [doc('z1', '明天下午的会议记录请整理一下', { day: 3 })],
      true,
    );
    await index.add(
      generation('s-ja', 'laptop', 'helper'),
      [doc('j1', '明日の会議は十時からです', { role: 'assistant', day: 5 })],
      true,
    );
    await index.add(
      generation('s-ko', 'desk'),
      [
        doc('k1', '내일 회의를 준비해 주세요', { day: 7 }),
        doc('k2', 'nightly backup on desk', { day: 7 }),
      ],
      true,
    );
    // The same entry in a later generation of its session: the same message.
    await index.add(
      generation('s-en', 'laptop', 'main', 'b'),
      [doc('u1', 'The nightly backup failed: disk full on /var', { line: 1 })],
      true,
    );
    await engine.settle();
  });
  afterAll(async () => {
    await engine.close();
  });

  it('is not new when opened again', async () => {
    expect(await (await engine.open(true)).open()).toBe(false);
  });

  it('matches regardless of case and accents, and returns the message as written', async () => {
    expect(await find('CAFE')).toEqual(['s-en/a1']);
    expect(await find('café')).toEqual(['s-en/a1']);
    const [hit] = (await index.search(parseQuery('cafe'), { roles: [...ALL] }, 5)).hits;
    expect(hit).toMatchObject({
      hostId: 'laptop',
      agentId: 'main',
      sessionId: 's-en',
      entry: 'a1',
      line: 2,
      role: 'assistant',
      timeMs: START,
      text: 'I freed 20 GB; the Café menu is unrelated. Resolution: rotate logs.',
    });
    expect(hit?.sha256).toMatch(/^[ab]{64}$/);
  });

  it('finds Chinese, Japanese and Korean words, and a single CJK character', async () => {
    expect(await find('会议')).toEqual(['s-zh/z1']);
    expect(await find('记录')).toEqual(['s-zh/z1']);
    expect(await find('会議')).toEqual(['s-ja/j1']);
    expect(await find('회의')).toEqual(['s-ko/k1']);
    expect(await find('会')).toEqual(['s-ja/j1', 's-zh/z1']);
    expect(await find('议会')).toEqual([]);
  });

  it('takes phrases, prefixes and AND', async () => {
    expect(await find('"disk full"')).toEqual(['s-en/u1']);
    expect(await find('"full disk"')).toEqual([]);
    expect(await find('resol*')).toEqual(['s-en/a1']);
    expect(await find('nightly AND backup')).toEqual(['s-en/u1', 's-ko/k2']);
    expect(await find('nightly meeting')).toEqual([]);
  });

  it('keeps a message once per session, whichever generations hold it', async () => {
    expect(await find('nightly')).toEqual(['s-en/u1', 's-ko/k2']);
    expect((await index.stats()).messages).toBe(7);
  });

  it('filters by hosts, agent, session, role and time', async () => {
    expect(await find('nightly', { hosts: ['desk'] })).toEqual(['s-ko/k2']);
    expect(await find('nightly', { hosts: ['desk', 'laptop'] })).toEqual(['s-en/u1', 's-ko/k2']);
    expect(await find('会', { agentId: 'helper' })).toEqual(['s-ja/j1']);
    expect(await find('nightly', { sessionId: 's-en' })).toEqual(['s-en/u1']);
    expect(await find('zorbulator', { roles: ['user', 'assistant'] })).toEqual([]);
    expect(await find('zorbulator', { roles: ['tool'] })).toEqual(['s-en/t1']);
    expect(await find('会', { fromMs: START + 4 * DAY })).toEqual(['s-ja/j1']);
    expect(await find('会', { toMs: START + 4 * DAY })).toEqual(['s-zh/z1']);
    expect(await find('nightly', { fromMs: START + DAY, toMs: START + 6 * DAY })).toEqual([]);
  });

  it('finds nothing for a word longer than any indexed token', async () => {
    expect(await find('n'.repeat(300))).toEqual([]);
  });

  it('answers hostile queries without an error of the engine', async () => {
    for (const q of [
      'NEAR(a b)',
      'a:b',
      '-x',
      '^y',
      '"unclosed',
      'a OR',
      'x" OR "y',
      "it's",
      '+a|b',
      'a\\b',
    ])
      await expect(find(q)).resolves.toBeInstanceOf(Array);
  });

  it('forgets a deleted session, and takes its messages again if it comes back', async () => {
    const desk = { hostId: 'desk', agentId: 'main', sessionId: 's-ko' };
    expect(await index.removeSession(desk)).toBe(2);
    await engine.settle();
    expect(await find('nightly')).toEqual(['s-en/u1']);
    expect(await find('회의')).toEqual([]);
    expect((await index.stats()).messages).toBe(5);
    expect(await index.removeSession(desk)).toBe(0);
    await index.add(
      generation('s-ko', 'desk'),
      [doc('k2', 'nightly backup on desk', { day: 7 })],
      true,
    );
    await engine.settle();
    expect(await find('nightly')).toEqual(['s-en/u1', 's-ko/k2']);
    expect((await index.stats()).messages).toBe(6);
  });

  it('is empty after recreate', async () => {
    await index.recreate();
    await engine.settle();
    expect(await find('nightly')).toEqual([]);
    expect((await index.stats()).messages).toBe(0);
  });
});

describe('Azure AI Search through the stand-in', () => {
  const open = (indexName: string, key = standIn.key) =>
    new AzureSearchIndex({
      endpoint: standIn.endpoint,
      indexName,
      credential: new AzureKeyCredential(key),
    });

  it('sends the folded tokens to search and the text as written, keyed by session and entry', async () => {
    const index: SearchIndex = open('nexus-shape');
    await index.add(generation('s1'), [doc('m1', 'Ünïcode Café, 会议!')], true);
    const [[key, stored] = ['', {}]] = [...standIn.documents('nexus-shape')];
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(stored).toMatchObject({
      body: searchTokens('Ünïcode Café, 会议!').join(' '),
      text: 'Ünïcode Café, 会议!',
      sessionId: 's1',
    });
    expect(stored['body']).toBe('unicode cafe 会议 会 议');
  });

  it('replaces an index of other fields, and says it is new', async () => {
    const client = new SearchIndexClient(standIn.endpoint, new AzureKeyCredential(standIn.key), {
      allowInsecureConnection: true,
    });
    await client.createIndex({
      name: 'nexus-old',
      fields: [
        { name: 'id', type: 'Edm.String', key: true },
        { name: 'content', type: 'Edm.String', searchable: true },
      ],
    });
    const index = open('nexus-old');
    expect(await index.open()).toBe(true);
    expect((await client.getIndex('nexus-old')).fields.map((f) => f.name)).toEqual(
      MESSAGE_FIELDS.map((f) => f.name),
    );
  });

  it('turns a refused key into a 503 that says what to check, without the key', async () => {
    const index = open('nexus-refused', 'wrong-key-0123456789');
    const failure = await index.stats().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnavailableError);
    const message = (failure as Error).message;
    expect(message).toMatch(/HTTP 403/);
    expect(message).toMatch(/NEXUS_SEARCH_KEY/);
    expect(message).not.toContain('wrong-key');
  });

  it('empties an index that was deleted under it (by hand, or another instance)', async () => {
    const index = open('nexus-gone');
    await index.add(generation('s1'), [doc('m1', 'vanishing act')]);
    const client = new SearchIndexClient(standIn.endpoint, new AzureKeyCredential(standIn.key), {
      allowInsecureConnection: true,
    });
    await client.deleteIndex('nexus-gone');
    await index.recreate();
    expect((await index.stats()).messages).toBe(0);
    await index.add(generation('s1'), [doc('m1', 'vanishing act')]);
    expect((await index.stats()).messages).toBe(1);
  });

  it('opens a missing index from two instances at once: one creates it, neither fails', async () => {
    const opened = await Promise.all([open('nexus-race').open(), open('nexus-race').open()]);
    expect(opened.sort()).toEqual([false, true]);
  });

  it('tries to open the index again after a failure', async () => {
    const index = open('nexus-retry');
    standIn.failNext(400);
    await expect(index.open()).rejects.toBeInstanceOf(UnavailableError);
    await expect(index.open()).resolves.toBe(true);
  });

  it('refuses a filter on a field that is not filterable, as the service does', async () => {
    // The stand-in checks what the service would refuse; this guards the stand-in itself.
    const index = open('nexus-filters');
    await index.open();
    const response = await fetch(
      `${standIn.endpoint}/indexes('nexus-filters')/docs/search.post.search?api-version=2026-04-01`,
      {
        method: 'POST',
        headers: { 'api-key': standIn.key, 'content-type': 'application/json' },
        body: JSON.stringify({ search: 'x', filter: "text eq 'x'" }),
      },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/not a filterable field/);
  });
});

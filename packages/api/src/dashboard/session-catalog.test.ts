import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { API_KEY, putTranscript, testApp } from '../testing/api-harness.ts';
import { sessionEntity, sessionFromEntity } from '../transcripts/rows.ts';
import { TitleBackfill } from './title-backfill.ts';
import { pino } from 'pino';
import { csvField } from './pages/usage-page.ts';
import {
  SessionCatalog,
  catalogOf,
  filterSessions,
  fold,
  type CatalogSession,
} from './session-catalog.ts';

const session = (over: Partial<CatalogSession>): CatalogSession => ({
  hostId: 'laptop',
  agentId: 'main',
  sessionId: 's',
  title: null,
  startedAt: null,
  activityAt: '2026-12-01T00:00:00.000Z',
  messages: 1,
  toolCalls: 0,
  tokens: 1,
  costUsd: 0,
  storedBytes: 1,
  state: 'live',
  models: [],
  channel: undefined,
  folded: '',
  ...over,
});

const all = () => true;

describe('the session list filter', () => {
  const sessions = [
    session({
      sessionId: 'a',
      title: 'Café au lait',
      folded: fold('Café au lait'),
      costUsd: 3,
      activityAt: '2026-11-01T00:00:00.000Z',
    }),
    session({
      sessionId: 'b',
      hostId: 'server',
      state: 'deleted',
      costUsd: 9,
      models: ['gpt-5'],
      activityAt: '2026-11-20T00:00:00.000Z',
    }),
    session({
      sessionId: 'c',
      channel: 'telegram',
      storedBytes: 99,
      activityAt: '2026-12-01T00:00:00.000Z',
      title: '会议记录',
      folded: fold('会议记录'),
    }),
  ];
  const ids = (found: CatalogSession[]) => found.map((s) => s.sessionId);

  it('sorts by activity, cost and size, largest or newest first', () => {
    expect(ids(filterSessions(catalogOf(sessions), { sort: 'activity', readable: all }))).toEqual([
      'c',
      'b',
      'a',
    ]);
    expect(ids(filterSessions(catalogOf(sessions), { sort: 'cost', readable: all }))).toEqual([
      'b',
      'a',
      'c',
    ]);
    expect(ids(filterSessions(catalogOf(sessions), { sort: 'size', readable: all }))[0]).toBe('c');
  });

  it('filters by each field, title words ignoring case and accents', () => {
    const by = (filter: object) =>
      ids(filterSessions(catalogOf(sessions), { sort: 'activity', readable: all, ...filter }));
    expect(by({ text: 'CAFE' })).toEqual(['a']);
    expect(by({ text: 'cafe lait' })).toEqual(['a']);
    expect(by({ text: '会议' })).toEqual(['c']);
    expect(by({ hostId: 'server' })).toEqual(['b']);
    expect(by({ state: 'deleted' })).toEqual(['b']);
    expect(by({ model: 'gpt-5' })).toEqual(['b']);
    expect(by({ channel: 'telegram' })).toEqual(['c']);
    expect(by({ fromMs: Date.parse('2026-11-15'), toMs: Date.parse('2026-11-30') })).toEqual(['b']);
  });

  it('leaves out the hosts the key may not read', () => {
    expect(
      ids(
        filterSessions(catalogOf(sessions), { sort: 'activity', readable: (h) => h === 'server' }),
      ),
    ).toEqual(['b']);
  });
});

describe('CSV fields', () => {
  it('quotes what needs quoting and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(0.25)).toBe('0.25');
  });
});

describe('the session catalog', () => {
  it('reads every agent once, then only the agents that received an upload', async () => {
    const storage = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-catalog-')));
    let nowMs = Date.parse('2026-11-25T12:00:00Z');
    const app = testApp(storage, { now: () => new Date(nowMs) });
    const upload = async (hostId: string, sessionId: string) => {
      const { text } = buildTranscript({ sessionId, turns: 2, startMs: nowMs - 60_000 });
      const response = await putTranscript(app, text, text, { hostId, sessionId });
      expect(response.status).toBe(201);
      nowMs += 1000;
    };
    try {
      await upload('laptop', 'a1');
      await upload('server', 'b1');
      const partitionsRead: string[] = [];
      const query = storage.tables.query.bind(storage.tables);
      storage.tables.query = (table, partition, options) => {
        if (table === 'sessions') partitionsRead.push(partition);
        return query(table, partition, options);
      };
      const catalog = new SessionCatalog(storage, { nowMs: () => nowMs, checkMs: 0 });
      expect((await catalog.sessions()).sessions.map((s) => s.sessionId).sort()).toEqual([
        'a1',
        'b1',
      ]);
      expect(partitionsRead.sort()).toEqual(['laptop~main', 'server~main']);

      partitionsRead.length = 0;
      await catalog.refresh(); // nothing new: no agent's sessions read again
      expect(partitionsRead).toEqual([]);

      await upload('laptop', 'a2');
      await catalog.refresh();
      expect(partitionsRead).toEqual(['laptop~main']);
      const after = await catalog.sessions();
      expect(after.sessions.map((s) => s.sessionId).sort()).toEqual(['a1', 'a2', 'b1']);
      expect(after.sorted.cost).toHaveLength(3);
      expect(
        after.usage.filter((b) => b.hostId === 'laptop').reduce((n, b) => n + b.messages, 0),
      ).toBe(4);
      expect([...after.choices.keys()].sort()).toEqual(['laptop', 'server']);

      // A session deleted in this process: the next page reads its agent again, and no other.
      const deleted = await app.request('/v1/hosts/laptop/agents/main/sessions/a1', {
        method: 'DELETE',
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      expect(deleted.status).toBe(200);
      partitionsRead.length = 0;
      catalog.forgetAgent({ hostId: 'laptop', agentId: 'main' });
      expect((await catalog.sessions()).sessions.map((s) => s.sessionId).sort()).toEqual([
        'a2',
        'b1',
      ]);
      expect(partitionsRead).toEqual(['laptop~main']);
    } finally {
      await storage.close();
    }
  });
});

describe('sessions stored before they had titles', () => {
  it('get their title and counts once, in storage and in the list', async () => {
    const storage = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-backfill-')));
    const app = testApp(storage);
    try {
      const { text } = buildTranscript({ sessionId: 'old1', turns: 3, toolEvery: 2 });
      expect(
        (await putTranscript(app, text, text, { hostId: 'laptop', sessionId: 'old1' })).status,
      ).toBe(201);
      // Make the row what 0.4 wrote: no title, no counts.
      const row = await storage.tables.get('sessions', 'laptop~main', 'old1');
      if (!row) throw new Error('no row');
      const { title, messages, toolCalls, ...old } = sessionFromEntity(row);
      // What an upload now records: the backfill must come to the same.
      const expected = { title, messages, toolCalls };
      expect(expected).toEqual({ title: 'question 0', messages: 8, toolCalls: 2 });
      await storage.tables.update(
        'sessions',
        sessionEntity(old, String(row.properties['indexKey'])),
        row.etag,
      );

      const asked: string[] = [];
      const backfill: TitleBackfill = new TitleBackfill({
        storage,
        logger: pino({ level: 'silent' }),
        onFilled: (scope, sessionId, filled) => {
          catalog.fillIn(scope, sessionId, filled);
        },
      });
      const catalog: SessionCatalog = new SessionCatalog(storage, {
        checkMs: 0,
        untitled: (scope, ids) => {
          asked.push(...ids);
          backfill.add(scope, ids);
        },
      });
      const before = await catalog.sessions();
      expect(before.sessions[0]?.title).toBeNull();
      expect(asked).toEqual(['old1']);
      await backfill.idle();
      const listed = (await catalog.sessions()).sessions[0];
      expect(listed).toMatchObject(expected);
      expect(
        filterSessions(await catalog.sessions(), {
          sort: 'activity',
          readable: () => true,
          text: 'QUESTION 0',
        }),
      ).toHaveLength(1);
      const stored = await storage.tables.get('sessions', 'laptop~main', 'old1');
      expect(sessionFromEntity(stored ?? row)).toMatchObject(expected);
    } finally {
      await storage.close();
    }
  });
});

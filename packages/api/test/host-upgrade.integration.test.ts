import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, inject, it } from 'vitest';
import { openAzureStorage, openEmbeddedStorage, openStorage, upgradeToHosts } from '@nexus/api';
import { API_KEY, get, testApp } from '@nexus/api/testing';
import { UnavailableError, queryAll, type Storage } from '@nexus/core';

/**
 * The upgrade to hosts, on data that Nexus 0.2 wrote (fixtures/v02-embedded, made by
 * fixtures/make-v02-fixture.ts from commit 3e3f049), held to what 0.2's own API answered about
 * it (fixtures/v02-expected.json).
 */
const FIXTURE = join(import.meta.dirname, 'fixtures', 'v02-embedded');
const HOST = 'old-laptop';

interface Expected {
  readonly sessions: Record<'main' | 'work', unknown>;
  readonly sessionA: unknown;
  readonly usage: Record<'main' | 'work', unknown>;
  readonly webhooks: { items: { id: string; bytes: number }[] };
  readonly endpoints: unknown;
  readonly transcripts: Record<string, string>;
}

const expected = JSON.parse(
  await readFile(join(import.meta.dirname, 'fixtures', 'v02-expected.json'), 'utf8'),
) as Expected;

async function fixtureCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-v02-'));
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

/** `value` without its `hostId` fields, and the host ids they held. */
function withoutHosts(value: unknown, hosts: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutHosts(item, hosts));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'hostId') hosts.add(String(field));
    else out[key] = withoutHosts(field, hosts);
  }
  return out;
}

/** Everything 0.2 answered is answered the same under the host, byte for byte for transcripts. */
async function expectUpgraded(storage: Storage): Promise<void> {
  const app = testApp(storage, { defaultHostId: HOST });
  const hosts = new Set<string>();
  const read = async (path: string) => {
    const response = await get(app, path);
    expect(response.status, path).toBe(200);
    return withoutHosts(await response.json(), hosts);
  };
  const listed = (await (await get(app, '/v1/hosts')).json()) as {
    hosts: { hostId: string; agents: { agentId: string }[] }[];
  };
  expect(listed.hosts.map((h) => [h.hostId, h.agents.map((a) => a.agentId)])).toEqual([
    [HOST, ['main', 'work']],
  ]);
  const base = `/v1/hosts/${HOST}/agents`;
  expect(await read(`${base}/main/sessions`)).toEqual(expected.sessions.main);
  expect(await read(`${base}/work/sessions`)).toEqual(expected.sessions.work);
  // 0.2 had no session states; this version derives one from the generations 0.2 stored.
  const { session, ...detail } = (await read(`${base}/main/sessions/sess-a`)) as {
    session: { state?: unknown };
  };
  const { state, ...sessionA } = session;
  expect({ ...detail, session: sessionA }).toEqual(expected.sessionA);
  expect(state).toMatchObject({ state: 'reset', since: '2026-11-20T10:05:00.000Z' });
  expect(await read(`${base}/main/usage`)).toEqual(expected.usage.main);
  expect(await read(`${base}/work/usage`)).toEqual(expected.usage.work);
  expect(await read(`/v1/webhooks?hostId=${HOST}&agentId=main`)).toEqual(expected.webhooks);
  expect(await read('/v1/endpoints')).toEqual(expected.endpoints);
  // The deprecated routes address the host the data moved to.
  expect(await read('/v1/agents/main/sessions')).toEqual(expected.sessions.main);
  expect([...hosts]).toEqual([HOST]);

  for (const [session, sha] of Object.entries(expected.transcripts)) {
    const agent = session === 'sess-c' ? 'work' : 'main';
    const sessionId = session.replace('-snapshot', '');
    const response = await get(app, `${base}/${agent}/sessions/${sessionId}/transcripts/${sha}`);
    expect(response.status, session).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);
  }
  const large = expected.webhooks.items.find((item) => item.bytes > 16 * 1024);
  const body = await get(app, `${base}/main/webhooks/${large?.id ?? ''}/body`);
  expect(body.status).toBe(200);
  expect((await body.arrayBuffer()).byteLength).toBe(large?.bytes);

  // Nothing is left under the old keys.
  for (const folder of ['transcripts/', 'ledgers/', 'webhooks/'])
    for await (const info of storage.blobs.list(folder))
      expect(info.key.split('/')[1], info.key).toContain('~');
  for (const table of ['generations', 'sessions', 'sessionsByTime', 'webhooks', 'webhookQueue'])
    for await (const partition of storage.tables.partitions(table))
      expect(partition, table).toContain('~');
  for await (const row of queryAll(storage.tables, 'agents', 'agent'))
    expect(row.rowKey).toContain('~');
}

/**
 * The storage with every write counted: the `failAt`-th throws, as a crash would stop the upgrade
 * there. Reads go through.
 */
function crashingAt(storage: Storage, failAt: number): { storage: Storage; writes: () => number } {
  let writes = 0;
  const step = () => {
    writes += 1;
    if (writes === failAt) throw new UnavailableError(`crash at write ${String(failAt)}`);
  };
  const { tables, blobs } = storage;
  return {
    writes: () => writes,
    storage: {
      ...storage,
      tables: {
        get: (t, p, r) => tables.get(t, p, r),
        query: (t, p, o) => tables.query(t, p, o),
        partitions: (t) => tables.partitions(t),
        insert: (t, e) => (step(), tables.insert(t, e)),
        upsert: (t, e) => (step(), tables.upsert(t, e)),
        update: (t, e, etag) => (step(), tables.update(t, e, etag)),
        delete: (t, p, r, etag) => (step(), tables.delete(t, p, r, etag)),
        transact: (w) => (step(), tables.transact(w)),
      },
      blobs: {
        get: (k) => blobs.get(k),
        head: (k) => blobs.head(k),
        list: (prefix) => blobs.list(prefix),
        putIfAbsent: (k, s, o) => (step(), blobs.putIfAbsent(k, s, o)),
        delete: (k) => (step(), blobs.delete(k)),
      },
    },
  };
}

describe('the upgrade to hosts, on data written by 0.2', () => {
  it('moves everything to the configured host on first start (embedded), once', async () => {
    const dir = await fixtureCopy();
    const lines: string[] = [];
    const storage = await openStorage(
      { kind: 'embedded', dataDir: dir },
      (line) => lines.push(line),
      {
        defaultHostId: HOST,
      },
    );
    try {
      expect(lines.join('\n')).toMatch(
        /Moving data stored before hosts existed \(agents main, work\) to host old-laptop[\s\S]*Moved \d+ rows and 6 files of 2 agent\(s\) to host old-laptop/,
      );
      await expectUpgraded(storage);
      expect(await upgradeToHosts(storage, 'another-host')).toBeUndefined();
      await expectUpgraded(storage);
    } finally {
      await storage.close();
    }
  });

  it('finishes after a crash at any write, losing nothing (embedded)', async () => {
    const probe = await openEmbeddedStorage(await fixtureCopy());
    const counted = crashingAt(probe, Number.POSITIVE_INFINITY);
    await upgradeToHosts(counted.storage, HOST);
    const total = counted.writes();
    await probe.close();
    expect(total).toBeGreaterThan(30);
    for (let failAt = 1; failAt <= total; failAt += 1) {
      const storage = await openEmbeddedStorage(await fixtureCopy());
      try {
        await expect(upgradeToHosts(crashingAt(storage, failAt).storage, HOST)).rejects.toThrow(
          `crash at write ${String(failAt)}`,
        );
        await upgradeToHosts(storage, HOST);
        await expectUpgraded(storage);
      } finally {
        await storage.close();
      }
    }
  }, 120_000);

  it('moves data 0.2 wrote to Azure Storage (Azurite), also after a crash half-way', async () => {
    const connectionString = inject('azuriteConnectionString');
    for (const failAt of [undefined, 25]) {
      const target = await openAzureStorage({
        connectionString,
        container: `up-${randomBytes(4).toString('hex')}`,
        tablePrefix: `u${randomBytes(4).toString('hex')}`,
      });
      try {
        await copyFixtureInto(target);
        if (failAt !== undefined)
          await expect(upgradeToHosts(crashingAt(target, failAt).storage, HOST)).rejects.toThrow(
            /crash at write/,
          );
        expect(await upgradeToHosts(target, HOST)).toMatchObject({
          hostId: HOST,
          agents: ['main', 'work'],
        });
        await expectUpgraded(target);
      } finally {
        await target.close();
      }
    }
  }, 120_000);

  it('leaves a fresh store as it is, apart from the marker', async () => {
    const storage = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-fresh-')));
    try {
      expect(await upgradeToHosts(storage, HOST)).toEqual({
        hostId: HOST,
        agents: [],
        rows: 0,
        blobs: 0,
      });
      expect((await (await get(testApp(storage), '/v1/hosts', API_KEY)).json()) as object).toEqual({
        hosts: [],
      });
    } finally {
      await storage.close();
    }
  });
});

/**
 * Puts the 0.2 rows and files into Azure storage as 0.2 kept them there: the layout of rows and
 * keys is the storage contract's, the same on both backends. The list of tables is read from the
 * fixture's SQLite file (a test's peek; the contract lists partitions, not tables).
 */
async function copyFixtureInto(target: Storage): Promise<void> {
  const dir = await fixtureCopy();
  const db = new DatabaseSync(join(dir, 'tables.sqlite'), { readOnly: true });
  const tables = (db.prepare('SELECT DISTINCT tbl FROM entities').all() as { tbl: string }[]).map(
    (row) => row.tbl,
  );
  db.close();
  const source = await openEmbeddedStorage(dir);
  try {
    for (const table of tables)
      for await (const partition of source.tables.partitions(table))
        for await (const row of queryAll(source.tables, table, partition))
          await target.tables.insert(table, row);
    for await (const info of source.blobs.list(''))
      await target.blobs.putIfAbsent(info.key, (await source.blobs.get(info.key)).body);
  } finally {
    await source.close();
  }
}

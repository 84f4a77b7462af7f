import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import {
  API_KEY,
  backends,
  get,
  putTranscript,
  sha256,
  useBackend,
} from '../src/testing/api-harness.ts';

const line = (value: unknown) => JSON.stringify(value);
const message = (id: string, text: string) =>
  line({
    type: 'message',
    id,
    timestamp: '2026-11-02T10:00:00Z',
    message: {
      role: 'assistant',
      model: 'm1',
      content: [{ type: 'text', text }],
      usage: { totalTokens: 10, cost: { total: 0.5 } },
    },
  });
const jsonl = (lines: string[]) => `${lines.join('\n')}\n`;

/** Everything stored under a session: blobs in its three folders, rows of its partition. */
async function leftOf(storage: Storage, scope: string, sessionId: string) {
  let blobs = 0;
  for (const folder of ['transcripts', 'deltas', 'ledgers'])
    for await (const _ of storage.blobs.list(`${folder}/${scope}/${sessionId}/`)) blobs += 1;
  const rows = async (table: string) =>
    (await storage.tables.query(table, scope)).items.filter((row) =>
      table === 'sessionsByTime'
        ? row.properties['sessionId'] === sessionId
        : row.rowKey === sessionId || row.rowKey.startsWith(`${sessionId}|`),
    ).length;
  return {
    blobs,
    generations: await rows('generations'),
    sessions: await rows('sessions'),
    byTime: await rows('sessionsByTime'),
  };
}

describe.each(backends(inject('azuriteConnectionString')))(
  'deleting a session on $name storage',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));
    const path = '/v1/hosts/laptop/agents/main/sessions';
    const first = jsonl([
      line({ type: 'session', id: 'doomed', version: 3, timestamp: '2026-11-02T09:00:00Z' }),
      message('m1', 'a secret I pasted by mistake'),
      // Enough assistant turns for a usage ledger over 16 KB: a blob of its own.
      ...Array.from({ length: 1500 }, (_, i) => message(`t${i}`, `turn ${i}`)),
    ]);
    const grown = jsonl([...first.trimEnd().split('\n'), message('m2', 'and more')]);
    const del = (sessionId: string, key = API_KEY) =>
      app.request(`${path}/${sessionId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${key}` },
      });

    beforeAll(async () => {
      const opts = { hostId: 'laptop', sessionId: 'doomed' };
      expect((await putTranscript(app, first, first, opts)).status).toBe(201);
      // An increment: a delta blob and a second generation row.
      const increment = await putTranscript(app, grown.slice(first.length), grown, {
        ...opts,
        query: `&base=${sha256(first)}`,
      });
      expect(increment.status, await increment.text()).toBe(201);
      const other = jsonl([
        line({ type: 'session', id: 'kept', version: 3 }),
        message('k1', 'keep me'),
      ]);
      expect(
        (await putTranscript(app, other, other, { hostId: 'laptop', sessionId: 'kept' })).status,
      ).toBe(201);
    });

    it('refuses a reader key, and a session that is not stored', async () => {
      const created = await app.request('/v1/keys', {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'reader', hosts: ['laptop'], label: 'reader' }),
      });
      const { key } = (await created.json()) as { key: string };
      const refused = await del('doomed', key);
      expect(refused.status).toBe(403);
      expect(await refused.text()).toMatch(/needs an admin key/);
      const missing = await del('never-stored');
      expect(missing.status).toBe(404);
      expect(await missing.text()).toMatch(/No session never-stored is stored/);
      expect((await del('Bad%20Id')).status).toBe(400);
    });

    it('deletes its transcripts, increments, ledgers and rows, and nothing else', async () => {
      // Its first transcript, its ledger, and the increment's delta (a small ledger lives in its row).
      expect(await leftOf(storage, 'laptop~main', 'doomed')).toEqual({
        blobs: 3,
        generations: 2,
        sessions: 1,
        byTime: 1,
      });
      const response = await del('doomed');
      expect(response.status, await response.clone().text()).toBe(200);
      expect(await response.json()).toMatchObject({
        deleted: {
          hostId: 'laptop',
          agentId: 'main',
          sessionId: 'doomed',
          generations: 2,
          blobs: 3,
        },
      });
      expect(await leftOf(storage, 'laptop~main', 'doomed')).toEqual({
        blobs: 0,
        generations: 0,
        sessions: 0,
        byTime: 0,
      });
      expect((await get(app, `${path}/doomed`)).status).toBe(404);
      expect((await get(app, `${path}/doomed/export`)).status).toBe(404);
      const listed = (await (await get(app, path)).json()) as { sessions: { sessionId: string }[] };
      expect(listed.sessions.map((s) => s.sessionId)).toEqual(['kept']);
      expect((await get(app, `${path}/kept`)).status).toBe(200);
      expect((await del('doomed')).status).toBe(404);
    });

    it('stores the session again when it is uploaded again', async () => {
      expect(
        (await putTranscript(app, grown, grown, { hostId: 'laptop', sessionId: 'doomed' })).status,
      ).toBe(201);
      const found = (await (await get(app, `${path}/doomed`)).json()) as {
        generations: unknown[];
      };
      expect(found.generations).toHaveLength(1);
    });
  },
);

import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import { buildTranscript } from '@nexus/core/testing';
import {
  backends,
  get,
  putTranscript,
  sha256,
  storedCounts,
  testApp,
  useBackend,
} from '../src/testing/api-harness.ts';

const T1 = buildTranscript({ sessionId: 's1', turns: 6, toolEvery: 2 });

describe.each(backends(inject('azuriteConnectionString')))(
  'transcripts API on $name storage: upload',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));

    describe('upload', () => {
      it('stores a transcript, then answers the same bytes with already_present and stores nothing new', async () => {
        const first = await putTranscript(app, T1.text, T1.text, {
          kind: 'reset',
          fileName: 's1.jsonl.reset.2026-02-03T10-00-00.000Z',
        });
        expect(first.status).toBe(201);
        const created = (await first.json()) as {
          status: string;
          generation: { sha256: string; summary: { lines: number } };
        };
        expect(created.status).toBe('created');
        expect(created.generation.sha256).toBe(sha256(T1.text));
        expect(created.generation.summary.lines).toBe(T1.expected.lines);
        const before = await storedCounts(storage);

        const again = await putTranscript(app, T1.text, T1.text, { kind: 'deleted' });
        expect(again.status).toBe(200);
        expect(((await again.json()) as { status: string }).status).toBe('already_present');
        expect(await storedCounts(storage)).toEqual(before);
      });

      it('answers with the status alone when asked for a minimal answer (Prefer: return=minimal, RFC 7240)', async () => {
        const text = buildTranscript({ sessionId: 'min-1', turns: 3 }).text;
        const options = { sessionId: 'min-1', headers: { prefer: 'return=minimal' } };
        const first = await putTranscript(app, text, text, options);
        expect(first.status).toBe(201);
        expect(first.headers.get('preference-applied')).toBe('return=minimal');
        expect(await first.text()).toBe('{"status":"created"}');
        const again = await putTranscript(app, text, text, {
          ...options,
          headers: { prefer: 'respond-async, return=minimal; x=1' },
        });
        expect([again.status, await again.text()]).toEqual([200, '{"status":"already_present"}']);
        // Stored whole all the same; other preferences get the full answer.
        const full = await putTranscript(app, text, text, {
          ...options,
          headers: { prefer: 'return=representation' },
        });
        expect(full.headers.get('preference-applied')).toBeNull();
        const body = (await full.json()) as { generation: { summary: { lines: number } } };
        expect(body.generation.summary.lines).toBe(text.split('\n').length - 1);
      });

      it('streams the stored bytes back unchanged', async () => {
        // Stored here too, so the test stands alone (the upload above may or may not have run).
        expect([200, 201]).toContain((await putTranscript(app, T1.text, T1.text)).status);
        const response = await get(
          app,
          `/v1/agents/main/sessions/s1/transcripts/${sha256(T1.text)}`,
        );
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toContain('application/x-ndjson');
        expect(response.headers.get('etag')).toBe(`"${sha256(T1.text)}"`);
        expect(await response.text()).toBe(T1.text);
      });

      // Small bodies with a length are decoded at once, unless they decompress past 1 MiB; the
      // rest stream. Each combination must store exactly the uncompressed bytes.
      it.each(
        (['gzip', 'zstd'] as const).flatMap((encoding) =>
          [3, 800].flatMap((turns) =>
            [true, false].map((announced) => [encoding, turns, announced] as const),
          ),
        ),
      )(
        'accepts a %s body of %i turns (length announced: %s) and stores the uncompressed bytes',
        async (encoding, turns, announced) => {
          const sessionId = `enc-${encoding}-${turns}-${String(announced)}`;
          const text = buildTranscript({
            sessionId,
            turns,
            toolEvery: 1,
            toolResultChars: 1500,
          }).text;
          const body = encoding === 'gzip' ? gzipSync(text) : zstdCompressSync(text);
          const headers: Record<string, string> = { 'content-encoding': encoding };
          if (announced) headers['content-length'] = String(body.byteLength);
          const response = await putTranscript(app, body, text, { sessionId, headers });
          expect(response.status).toBe(201);
          const download = await get(
            app,
            `/v1/agents/main/sessions/${sessionId}/transcripts/${sha256(text)}`,
          );
          expect(await download.text()).toBe(text);
        },
      );

      it('names the download of a .zst archive for the plain JSONL it is', async () => {
        const archived = buildTranscript({ sessionId: 'szst', turns: 2 });
        const name =
          'szst.jsonl.deleted.2026-09-01T10-00-00.000Z.0123456789abcdef0123456789abcdef.zst';
        const body = zstdCompressSync(Buffer.from(archived.text));
        const put = await putTranscript(app, body, archived.text, {
          sessionId: 'szst',
          kind: 'deleted',
          fileName: name,
          headers: { 'content-encoding': 'zstd' },
        });
        expect([200, 201]).toContain(put.status);
        const response = await get(
          app,
          `/v1/agents/main/sessions/szst/transcripts/${sha256(archived.text)}`,
        );
        expect(response.headers.get('content-disposition')).toBe(
          `attachment; filename="${name.slice(0, -'.zst'.length)}"`,
        );
        expect(await response.text()).toBe(archived.text);
      });

      it('checks a stored generation sent again like any upload, and keeps the first copy', async () => {
        const text = buildTranscript({ sessionId: 'again', turns: 3 }).text;
        expect((await putTranscript(app, text, text, { sessionId: 'again' })).status).toBe(201);
        const before = await storedCounts(storage);
        const retry = await putTranscript(app, text, text, {
          sessionId: 'again',
          headers: { 'content-length': String(Buffer.byteLength(text)) },
        });
        expect(retry.status).toBe(200);
        // A different body under the stored hash is refused, not answered "already present".
        const forged = await putTranscript(app, `${text}{"type":"x"}\n`, text, {
          sessionId: 'again',
        });
        expect(forged.status).toBe(400);
        expect(((await forged.json()) as { error: { code: string } }).error.code).toBe(
          'sha256_mismatch',
        );
        expect(await storedCounts(storage)).toEqual(before);
        const download = await get(
          app,
          `/v1/agents/main/sessions/again/transcripts/${sha256(text)}`,
        );
        expect(await download.text()).toBe(text);
      });

      it('keeps every generation of a session and counts overlapping messages once', async () => {
        const full = buildTranscript({
          sessionId: 'gen',
          turns: 8,
          startMs: Date.parse('2026-03-01T10:00:00Z'),
        });
        const snapshot = full.text.split('\n').slice(0, 10).join('\n') + '\n';
        expect((await putTranscript(app, snapshot, snapshot, { sessionId: 'gen' })).status).toBe(
          201,
        );
        expect(
          (await putTranscript(app, full.text, full.text, { sessionId: 'gen', kind: 'reset' }))
            .status,
        ).toBe(201);

        const response = await get(app, '/v1/agents/main/sessions/gen');
        const body = (await response.json()) as {
          session: { generations: number; costUsd: number; kinds: string[]; latestSha256: string };
          generations: { sha256: string }[];
        };
        expect(body.generations.map((g) => g.sha256).sort()).toEqual(
          [sha256(snapshot), sha256(full.text)].sort(),
        );
        expect(body.session.generations).toBe(2);
        expect(body.session.kinds).toEqual(['live', 'reset']);
        expect(body.session.latestSha256).toBe(sha256(full.text));
        expect(body.session.costUsd).toBeCloseTo(full.expected.costUsd, 9);
      });

      it('counts overlaps once whether a ledger is kept inline (small) or as a blob (over 16 KB)', async () => {
        // 400 turns: a ledger of about 40 KB, a blob; the 20-line snapshot's ledger stays inline.
        const full = buildTranscript({
          sessionId: 'big-ledger',
          turns: 400,
          startMs: Date.parse('2026-03-02T10:00:00Z'),
        });
        const snapshot = full.text.split('\n').slice(0, 20).join('\n') + '\n';
        await putTranscript(app, snapshot, snapshot, { sessionId: 'big-ledger' });
        await putTranscript(app, full.text, full.text, { sessionId: 'big-ledger', kind: 'reset' });
        const ledgers: string[] = [];
        for await (const blob of storage.blobs.list('ledgers/default~main/big-ledger/'))
          ledgers.push(blob.key);
        expect(ledgers).toEqual([`ledgers/default~main/big-ledger/${sha256(full.text)}.jsonl`]);
        const body = (await (await get(app, '/v1/agents/main/sessions/big-ledger')).json()) as {
          session: { costUsd: number; usage: { messages: number; output: number }[] };
        };
        expect(body.session.costUsd).toBeCloseTo(full.expected.costUsd, 9);
        const sum = (field: 'messages' | 'output') =>
          body.session.usage.reduce((total, bucket) => total + bucket[field], 0);
        expect(sum('messages')).toBe(full.expected.assistantMessages);
        expect(sum('output')).toBe(full.expected.output);
      });

      it('builds a new session right when its first two generations arrive at once', async () => {
        const full = buildTranscript({ sessionId: 'race', turns: 6 });
        const snapshot = full.text.split('\n').slice(0, 8).join('\n') + '\n';
        const answers = await Promise.all([
          putTranscript(app, snapshot, snapshot, { sessionId: 'race' }),
          putTranscript(app, full.text, full.text, { sessionId: 'race', kind: 'reset' }),
        ]);
        expect(answers.map((a) => a.status)).toEqual([201, 201]);
        const body = (await (await get(app, '/v1/agents/main/sessions/race')).json()) as {
          session: { generations: number; kinds: string[]; costUsd: number };
        };
        expect(body.session).toMatchObject({ generations: 2, kinds: ['live', 'reset'] });
        expect(body.session.costUsd).toBeCloseTo(full.expected.costUsd, 9);
      });

      it('counts every generation when several of one session arrive at once', async () => {
        const full = buildTranscript({ sessionId: 'crowd', turns: 8 });
        const lines = full.text.split('\n');
        const versions = [4, 6, 8, 10].map((n) => lines.slice(0, n).join('\n') + '\n');
        const answers = await Promise.all(
          versions.map(async (text) => putTranscript(app, text, text, { sessionId: 'crowd' })),
        );
        expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
        const body = (await (await get(app, '/v1/agents/main/sessions/crowd')).json()) as {
          session: { generations: number };
          generations: unknown[];
        };
        expect(body.session.generations).toBe(4);
        expect(body.generations).toHaveLength(4);
      });

      it('completes a session whose generation was stored without its session row, when the upload is retried', async () => {
        // Version 0.1 on Azure wrote these rows one by one: a crash could keep the generation
        // alone. The worker, answered nothing, sends the same bytes again.
        const full = buildTranscript({ sessionId: 'half', turns: 6 });
        const snapshot = full.text.split('\n').slice(0, 8).join('\n') + '\n';
        await putTranscript(app, snapshot, snapshot, { sessionId: 'half' });
        const session = await storage.tables.get('sessions', 'default~main', 'half');
        await storage.tables.delete('sessions', 'default~main', 'half');
        await storage.tables.delete(
          'sessionsByTime',
          'default~main',
          String(session?.properties['indexKey']),
        );
        expect((await get(app, '/v1/agents/main/sessions/half')).status).toBe(404);
        const retried = await putTranscript(app, snapshot, snapshot, { sessionId: 'half' });
        expect(retried.status).toBe(200);
        const listed = (await (await get(app, '/v1/agents/main/sessions?limit=100')).json()) as {
          sessions: { sessionId: string }[];
        };
        expect(listed.sessions.map((s) => s.sessionId)).toContain('half');
        await putTranscript(app, full.text, full.text, { sessionId: 'half', kind: 'reset' });
        const body = (await (await get(app, '/v1/agents/main/sessions/half')).json()) as {
          session: { generations: number; kinds: string[] };
        };
        expect(body.session).toMatchObject({ generations: 2, kinds: ['live', 'reset'] });
      });

      it('ignores a time index row left behind by a crash, and lists the session once', async () => {
        const text = buildTranscript({ sessionId: 'moved', turns: 2 }).text;
        await putTranscript(app, text, text, { sessionId: 'moved' });
        // As if the process died after a newer generation's transaction, before it removed the
        // session's previous index row: a second row pointing at the same session.
        await storage.tables.insert('sessionsByTime', {
          partitionKey: 'default~main',
          rowKey: `0000000000001|moved`,
          properties: { sessionId: 'moved' },
        });
        const listed = (await (await get(app, '/v1/agents/main/sessions?limit=100')).json()) as {
          sessions: { sessionId: string }[];
        };
        expect(listed.sessions.filter((s) => s.sessionId === 'moved')).toHaveLength(1);
      });

      it('lists each agent with its last upload time, whichever process took the upload', async () => {
        const at = (minute: number) => new Date(`2026-11-25T13:${String(minute)}:00.000Z`);
        const listed = async () =>
          ((await (await get(app, '/v1/agents')).json()) as { agents: object[] }).agents;
        const full = buildTranscript({ sessionId: 'clocked', turns: 4 });
        const snapshot = full.text.split('\n').slice(0, 6).join('\n') + '\n';
        const first = testApp(storage, { now: () => at(10) });
        await putTranscript(first, snapshot, snapshot, { agentId: 'clock', sessionId: 'clocked' });
        expect(await listed()).toContainEqual({
          hostId: 'default',
          agentId: 'clock',
          lastReceivedAt: at(10).toISOString(),
        });
        // Another process (its own memory of known agents), then a second generation.
        const second = testApp(storage, { now: () => at(20) });
        const other = buildTranscript({ sessionId: 'clocked-2', turns: 1 }).text;
        await putTranscript(second, other, other, { agentId: 'clock', sessionId: 'clocked-2' });
        expect(await listed()).toContainEqual({
          hostId: 'default',
          agentId: 'clock',
          lastReceivedAt: at(20).toISOString(),
        });
        const third = testApp(storage, { now: () => at(30) });
        await putTranscript(third, full.text, full.text, {
          agentId: 'clock',
          sessionId: 'clocked',
          kind: 'reset',
        });
        expect(await listed()).toContainEqual({
          hostId: 'default',
          agentId: 'clock',
          lastReceivedAt: at(30).toISOString(),
        });
        // A row from 0.1 carries its time (moved to the default host by the upgrade); a row whose
        // first upload never completed is left out.
        await storage.tables.insert('agents', {
          partitionKey: 'agent',
          rowKey: 'default~from-0-1',
          properties: { lastReceivedAt: '2026-01-01T00:00:00.000Z' },
        });
        await storage.tables.insert('agents', {
          partitionKey: 'agent',
          rowKey: 'default~never-stored',
          properties: { firstReceivedAt: '2026-01-01T00:00:00.000Z' },
        });
        const agents = await listed();
        expect(agents).toContainEqual({
          hostId: 'default',
          agentId: 'from-0-1',
          lastReceivedAt: '2026-01-01T00:00:00.000Z',
        });
        expect(agents.map((a) => (a as { agentId: string }).agentId)).not.toContain('never-stored');
      });

      it('records the context sent along and shows it with the session', async () => {
        const text = buildTranscript({ sessionId: 'ctx', turns: 1 }).text;
        const response = await putTranscript(app, text, text, {
          sessionId: 'ctx',
          query:
            '&sessionKey=agent%3Amain%3Amain&channel=telegram&status=done&previousSessionId=old-1',
        });
        expect(response.status).toBe(201);
        const session = (await (await get(app, '/v1/agents/main/sessions/ctx')).json()) as {
          session: { context: object };
        };
        expect(session.session.context).toEqual({
          sessionKey: 'agent:main:main',
          channel: 'telegram',
          status: 'done',
          previousSessionId: 'old-1',
        });
      });
    });
  },
);

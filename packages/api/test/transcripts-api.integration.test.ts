import { gzipSync, zstdCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Hono } from 'hono';
import type { Storage } from '@nexus/core';
import { buildTranscript } from '@nexus/core/testing';
import {
  API_KEY,
  SECOND_KEY,
  type Body,
  backends,
  get,
  putTranscript,
  sha256,
  storedCounts,
  testApp,
} from '../src/testing/api-harness.ts';

const T1 = buildTranscript({ sessionId: 's1', turns: 6, toolEvery: 2 });

describe.each(backends(inject('azuriteConnectionString')))(
  'transcripts API on $name storage',
  (backend) => {
    let storage: Storage;
    let app: Hono;
    beforeAll(async () => {
      storage = await backend.open();
      app = testApp(storage);
    });
    afterAll(async () => {
      await storage.close();
    });

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
        for await (const blob of storage.blobs.list('ledgers/main/big-ledger/'))
          ledgers.push(blob.key);
        expect(ledgers).toEqual([`ledgers/main/big-ledger/${sha256(full.text)}.jsonl`]);
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
        const session = await storage.tables.get('sessions', 'main', 'half');
        await storage.tables.delete('sessions', 'main', 'half');
        await storage.tables.delete(
          'sessionsByTime',
          'main',
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
          partitionKey: 'main',
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
          agentId: 'clock',
          lastReceivedAt: at(10).toISOString(),
        });
        // Another process (its own memory of known agents), then a second generation.
        const second = testApp(storage, { now: () => at(20) });
        const other = buildTranscript({ sessionId: 'clocked-2', turns: 1 }).text;
        await putTranscript(second, other, other, { agentId: 'clock', sessionId: 'clocked-2' });
        expect(await listed()).toContainEqual({
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
          agentId: 'clock',
          lastReceivedAt: at(30).toISOString(),
        });
        // A row from 0.1 carries its time; a row whose first upload never completed is left out.
        await storage.tables.insert('agents', {
          partitionKey: 'agent',
          rowKey: 'from-0-1',
          properties: { lastReceivedAt: '2026-01-01T00:00:00.000Z' },
        });
        await storage.tables.insert('agents', {
          partitionKey: 'agent',
          rowKey: 'never-stored',
          properties: { firstReceivedAt: '2026-01-01T00:00:00.000Z' },
        });
        const agents = await listed();
        expect(agents).toContainEqual({
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

    describe('reads', () => {
      beforeAll(async () => {
        for (let day = 1; day <= 5; day += 1) {
          const sessionId = `day-${day}`;
          const built = buildTranscript({
            sessionId,
            turns: 2,
            startMs: Date.parse(`2026-04-0${day}T08:00:00Z`),
            model: day % 2 ? 'model-a' : 'model-b',
          });
          const response = await putTranscript(app, built.text, built.text, {
            agentId: 'reader',
            sessionId,
          });
          expect(response.status).toBe(201);
        }
      });

      it('lists agents', async () => {
        const body = (await (await get(app, '/v1/agents')).json()) as {
          agents: { agentId: string }[];
        };
        expect(body.agents.map((a) => a.agentId)).toEqual(
          expect.arrayContaining(['main', 'reader']),
        );
      });

      it('lists sessions newest first, page by page', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 5; page += 1) {
          const query = `limit=2${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
          const body = (await (await get(app, `/v1/agents/reader/sessions?${query}`)).json()) as {
            sessions: { sessionId: string; usage?: unknown }[];
            cursor?: string;
          };
          expect(body.sessions.length).toBeLessThanOrEqual(2);
          expect(body.sessions.every((s) => s.usage === undefined)).toBe(true);
          seen.push(...body.sessions.map((s) => s.sessionId));
          cursor = body.cursor;
          if (cursor === undefined) break;
        }
        expect(seen).toEqual(['day-5', 'day-4', 'day-3', 'day-2', 'day-1']);
      });

      it('filters sessions by activity time: from inclusive, to exclusive', async () => {
        const body = (await (
          await get(app, '/v1/agents/reader/sessions?from=2026-04-02&to=2026-04-04')
        ).json()) as {
          sessions: { sessionId: string }[];
        };
        expect(body.sessions.map((s) => s.sessionId)).toEqual(['day-3', 'day-2']);
      });

      it('sums usage per day and model over an inclusive day range', async () => {
        const body = (await (
          await get(app, '/v1/agents/reader/usage?from=2026-04-02&to=2026-04-03')
        ).json()) as {
          sessions: number;
          byDay: { day: string; model: string; messages: number }[];
          totals: { messages: number };
        };
        expect(body.byDay.map((b) => [b.day, b.model, b.messages])).toEqual([
          ['2026-04-02', 'model-b', 2],
          ['2026-04-03', 'model-a', 2],
        ]);
        expect(body.sessions).toBe(2);
        expect(body.totals.messages).toBe(4);
      });

      it('answers 404 for a session or generation that is not stored', async () => {
        const session = await get(app, '/v1/agents/reader/sessions/nope');
        expect(session.status).toBe(404);
        expect(((await session.json()) as { error: { code: string } }).error.code).toBe(
          'session_not_found',
        );
        const generation = await get(
          app,
          `/v1/agents/reader/sessions/day-1/transcripts/${'0'.repeat(64)}`,
        );
        expect(generation.status).toBe(404);
      });
    });

    describe('auth', () => {
      it('leaves health open and reports the storage', async () => {
        const response = await get(app, '/v1/health', null);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ status: 'ok' });
      });

      it.each([
        ['no Authorization header', {}, /needs an API key/],
        ['a wrong key', { authorization: 'Bearer nope' }, /not valid/],
        ['another scheme', { authorization: `Basic ${API_KEY}` }, /Bearer <key>/],
      ])('answers 401 to %s', async (_label, headers, message) => {
        const response = await app.request('/v1/agents', { headers });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toContain('Bearer');
        expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
          message,
        );
      });

      it('accepts every configured key', async () => {
        expect((await get(app, '/v1/agents', SECOND_KEY)).status).toBe(200);
      });

      it('refuses an upload without a key and stores nothing', async () => {
        const before = await storedCounts(storage);
        const text = buildTranscript({ sessionId: 'unauth', turns: 1 }).text;
        const response = await app.request(
          `/v1/agents/main/sessions/unauth/transcripts/${sha256(text)}?fileName=x.jsonl`,
          {
            method: 'PUT',
            body: text,
          },
        );
        expect(response.status).toBe(401);
        expect(await storedCounts(storage)).toEqual(before);
      });
    });

    describe('bad input', () => {
      const header = '{"type":"session","version":3,"id":"bad"}';
      const valid = buildTranscript({ sessionId: 'bad', turns: 2 }).text;
      const bigLine = `${header}\n${'{"type":"x","pad":"'.concat('a'.repeat(5 * 1024 * 1024), '"}')}\n`;
      const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
      const cases: [
        string,
        () => {
          body: Body;
          raw: string | Uint8Array;
          options?: Parameters<typeof putTranscript>[3];
        },
        number,
        string,
      ][] = [
        [
          'a malformed JSON line',
          () => ({ body: `${header}\n{"type":\n`, raw: `${header}\n{"type":\n` }),
          400,
          'invalid_json',
        ],
        [
          'a missing header',
          () => ({ body: '{"type":"message"}\n', raw: '{"type":"message"}\n' }),
          400,
          'missing_header',
        ],
        [
          'a header for another session',
          () => ({
            body: valid.replace('"id":"bad"', '"id":"other"'),
            raw: valid.replace('"id":"bad"', '"id":"other"'),
          }),
          400,
          'session_id_mismatch',
        ],
        [
          'non-UTF-8 bytes',
          () => {
            const bytes = Buffer.concat([
              Buffer.from(`${header}\n{"t":"`),
              Buffer.from([0xc3, 0x28]),
              Buffer.from('"}\n'),
            ]);
            return { body: bytes, raw: bytes };
          },
          400,
          'invalid_utf8',
        ],
        [
          'binary content',
          () => {
            const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
            return { body: bytes, raw: bytes };
          },
          400,
          'invalid_utf8',
        ],
        ['an empty body', () => ({ body: '', raw: '' }), 400, 'empty_transcript'],
        [
          'a hash that does not match',
          () => ({ body: valid, raw: valid, options: { sha256: sha256('other') } }),
          400,
          'sha256_mismatch',
        ],
        [
          'an unsupported Content-Encoding',
          () => ({ body: valid, raw: valid, options: { headers: { 'content-encoding': 'br' } } }),
          415,
          'unsupported_content_encoding',
        ],
        [
          'a Content-Encoding that lies',
          () => ({ body: valid, raw: valid, options: { headers: { 'content-encoding': 'gzip' } } }),
          400,
          'invalid_content_encoding',
        ],
        [
          'a truncated gzip body',
          () => {
            const zipped = gzipSync(valid);
            return {
              body: zipped.subarray(0, zipped.length - 12),
              raw: valid,
              options: { headers: { 'content-encoding': 'gzip' } },
            };
          },
          400,
          'invalid_content_encoding',
        ],
        [
          'a body over the size limit',
          () => ({ body: bigLine, raw: bigLine }),
          413,
          'payload_too_large',
        ],
        [
          'a small gzip body that decompresses past the limit',
          () => ({
            body: bomb,
            raw: Buffer.alloc(8 * 1024 * 1024, 0x20),
            options: { headers: { 'content-encoding': 'gzip' } },
          }),
          413,
          'payload_too_large',
        ],
        [
          'an unknown kind',
          () => ({ body: valid, raw: valid, options: { kind: 'draft' } }),
          400,
          'invalid_kind',
        ],
        [
          'no fileName',
          () => ({ body: valid, raw: valid, options: { fileName: null } }),
          400,
          'missing_fileName',
        ],
        [
          'a fileName with a folder',
          () => ({ body: valid, raw: valid, options: { fileName: '../../etc/passwd' } }),
          400,
          'invalid_file_name',
        ],
        [
          'a hash that is not hex',
          () => ({ body: valid, raw: valid, options: { sha256: 'z'.repeat(64) } }),
          400,
          'invalid_sha256',
        ],
        [
          'an agent id with an encoded slash',
          () => ({ body: valid, raw: valid, options: { agentId: 'a%2Fb' } }),
          400,
          'invalid_agent_id',
        ],
        [
          'an agent id with an encoded backslash',
          () => ({ body: valid, raw: valid, options: { agentId: 'a%5Cb' } }),
          400,
          'invalid_agent_id',
        ],
        [
          'an agent id with ..',
          () => ({ body: valid, raw: valid, options: { agentId: 'a..b' } }),
          400,
          'invalid_agent_id',
        ],
        [
          'an agent id with an encoded #',
          () => ({ body: valid, raw: valid, options: { agentId: 'a%23b' } }),
          400,
          'invalid_agent_id',
        ],
        [
          'an agent id with an encoded ?',
          () => ({ body: valid, raw: valid, options: { agentId: 'a%3Fb' } }),
          400,
          'invalid_agent_id',
        ],
        [
          'a session id with a control character',
          () => ({ body: valid, raw: valid, options: { sessionId: 'a%01b' } }),
          400,
          'invalid_session_id',
        ],
        [
          'a session id over the length limit',
          () => ({ body: valid, raw: valid, options: { sessionId: 's'.repeat(129) } }),
          400,
          'invalid_session_id',
        ],
        [
          'context that is too long',
          () => ({
            body: valid,
            raw: valid,
            options: { sessionId: 'bad', query: `&channel=${'c'.repeat(300)}` },
          }),
          400,
          'invalid_context',
        ],
      ];

      // Bodies announced with a small Content-Length are read whole and decoded at once; others
      // stream. Both paths must refuse the same things the same way.
      const announced = cases.map(([label, make, status, code]): (typeof cases)[number] => [
        `${label} (length announced)`,
        () => {
          const made = make();
          const length = Buffer.byteLength(made.body as string | Uint8Array);
          return {
            ...made,
            options: {
              ...made.options,
              headers: { ...made.options?.headers, 'content-length': String(length) },
            },
          };
        },
        status,
        code,
      ]);

      it.each([...cases, ...announced])(
        'answers %s with a clear error and stores nothing',
        async (_label, make, status, code) => {
          const before = await storedCounts(storage);
          const { body, raw, options } = make();
          const response = await putTranscript(app, body, raw, { sessionId: 'bad', ...options });
          expect(response.status).toBe(status);
          expect(response.headers.get('content-type')).toContain('application/json');
          const error = ((await response.json()) as { error: { code: string; message: string } })
            .error;
          expect(error.code).toBe(code);
          expect(error.message).toMatch(/;|\./);
          expect(error.message).not.toMatch(/at .*\.ts:\d+/);
          expect(await storedCounts(storage)).toEqual(before);
        },
      );

      it('refuses a small compressed body that decompresses past a limit under 1 MiB', async () => {
        const small = testApp(storage, { maxTranscriptBytes: 64 * 1024 });
        const body = zstdCompressSync(Buffer.alloc(200 * 1024, 0x20));
        const response = await putTranscript(small, body, 'x', {
          sessionId: 'bad',
          headers: { 'content-encoding': 'zstd', 'content-length': String(body.byteLength) },
        });
        expect(response.status).toBe(413);
        expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
          /once decompressed/,
        );
      });

      it('refuses a body whose Content-Length is over the limit before reading it', async () => {
        const small = testApp(storage, { maxTranscriptBytes: 1024 });
        const response = await putTranscript(small, valid, valid, {
          sessionId: 'bad',
          headers: { 'content-length': '999999' },
        });
        expect(response.status).toBe(413);
      });

      it('answers a parent-directory path segment with 404, never a file', async () => {
        const response = await get(app, '/v1/agents/../../etc/sessions');
        expect(response.status).toBe(404);
      });

      it.each([
        ['GET', '/v1/nothing-here', 404, 'route_not_found'],
        ['DELETE', '/v1/agents/main/sessions', 405, 'method_not_allowed'],
        [
          'POST',
          `/v1/agents/main/sessions/s1/transcripts/${'a'.repeat(64)}`,
          405,
          'method_not_allowed',
        ],
      ])('answers %s %s with %i %s', async (method, path, status, code) => {
        const response = await app.request(path, {
          method,
          headers: { authorization: `Bearer ${API_KEY}` },
        });
        expect(response.status).toBe(status);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
        if (status === 405) expect(response.headers.get('allow')).toMatch(/GET|PUT/);
      });

      it.each([
        ['/v1/agents/main/sessions?limit=0', 'invalid_limit'],
        ['/v1/agents/main/sessions?limit=abc', 'invalid_limit'],
        ['/v1/agents/main/sessions?from=yesterday', 'invalid_from'],
        ['/v1/agents/main/sessions?from=2026-05-01&to=2026-04-01', 'invalid_range'],
        ['/v1/agents/main/sessions?cursor=not-a-cursor', 'invalid_cursor'],
        ['/v1/agents/main/usage?from=2026-4-1', 'invalid_from'],
      ])('answers %s with 400 %s', async (path, code) => {
        const response = await get(app, path);
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
      });
    });
  },
);

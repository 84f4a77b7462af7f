import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import { buildTranscript } from '@nexus/core/testing';
import {
  API_KEY,
  SECOND_KEY,
  backends,
  get,
  putTranscript,
  sha256,
  storedCounts,
  useBackend,
} from '../src/testing/api-harness.ts';

describe.each(backends(inject('azuriteConnectionString')))(
  'transcripts API on $name storage: reads and auth',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));

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
        const other = buildTranscript({ sessionId: 'other-agent', turns: 1 }).text;
        await putTranscript(app, other, other, { agentId: 'main', sessionId: 'other-agent' });
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
  },
);

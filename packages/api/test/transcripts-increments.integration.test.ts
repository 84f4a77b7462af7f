import { zstdCompressSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import { buildTranscript } from '@nexus/core/testing';
import { MAX_SEGMENTS } from '../src/transcripts/generation-layout.ts';
import { loadGenerationRows } from '../src/transcripts/generation-content.ts';
import { backends, get, putTranscript, sha256, useBackend } from '../src/testing/api-harness.ts';

const SCOPE = { hostId: 'default', agentId: 'main' };

/** The transcript of a session after `turns` turns: each is a prefix of the next. */
function grown(sessionId: string, turns: number): string {
  return buildTranscript({ sessionId, turns, toolEvery: 2, toolResultChars: 300 }).text;
}

/** The bytes of `text` after those of `base`, as an increment upload sends them. */
function after(text: string, base: string): Buffer {
  return Buffer.from(text).subarray(Buffer.byteLength(base));
}

async function putIncrement(
  app: NexusApp,
  text: string,
  base: string,
  options: { sessionId: string; agentId?: string; headers?: Record<string, string>; body?: Buffer },
) {
  return putTranscript(app, options.body ?? after(text, base), text, {
    sessionId: options.sessionId,
    ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    query: `&base=${sha256(base)}`,
  });
}

async function blobBytes(
  storage: Storage,
  prefix: string,
): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for await (const info of storage.blobs.list(prefix)) {
    count += 1;
    bytes += info.size;
  }
  return { count, bytes };
}

async function download(app: NexusApp, agentId: string, sessionId: string, text: string) {
  const response = await get(
    app,
    `/v1/hosts/default/agents/${agentId}/sessions/${sessionId}/transcripts/${sha256(text)}`,
  );
  return {
    status: response.status,
    length: response.headers.get('content-length'),
    text: await response.text(),
  };
}

async function session(app: NexusApp, agentId: string, sessionId: string) {
  const response = await get(app, `/v1/hosts/default/agents/${agentId}/sessions/${sessionId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as {
    session: Record<string, unknown> & { storedBytes: number; generations: number };
    generations: {
      sha256: string;
      extends?: string;
      storedBytes?: number;
      summary: unknown;
      archivedAs?: unknown;
    }[];
  };
}

describe.each(backends(inject('azuriteConnectionString')))(
  'transcripts API on $name storage: increments',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));

    it('stores a growing session as increments: every generation downloads whole, storage stays near its size, figures match whole uploads', async () => {
      const steps = MAX_SEGMENTS + 8;
      const texts = Array.from({ length: steps + 1 }, (_, i) => grown('grow', 2 + i));
      expect(
        (await putTranscript(app, texts[0] ?? '', texts[0] ?? '', { sessionId: 'grow' })).status,
      ).toBe(201);
      await putTranscript(app, texts[0] ?? '', texts[0] ?? '', {
        sessionId: 'grow',
        agentId: 'whole',
      });
      for (let i = 1; i <= steps; i += 1) {
        const response = await putIncrement(app, texts[i] ?? '', texts[i - 1] ?? '', {
          sessionId: 'grow',
        });
        expect(response.status, `increment ${i}`).toBe(201);
        // The same content whole, under another agent, for comparison.
        await putTranscript(app, texts[i] ?? '', texts[i] ?? '', {
          sessionId: 'grow',
          agentId: 'whole',
        });
      }
      const last = texts[steps] ?? '';
      for (const text of texts) {
        const got = await download(app, 'main', 'grow', text);
        expect(got.status).toBe(200);
        expect(got.length).toBe(String(Buffer.byteLength(text)));
        expect(got.text === text).toBe(true);
      }
      // A consolidation folded the first chain: at most MAX_SEGMENTS blobs behind any generation.
      const rows = await loadGenerationRows(storage, SCOPE, 'grow');
      const kinds = [...rows.values()].map((row) => row.layout.kind);
      expect(kinds).toContain('within');
      const stored =
        (await blobBytes(storage, 'transcripts/default~main/')).bytes +
        (await blobBytes(storage, 'deltas/default~main/')).bytes;
      expect(stored).toBe(Buffer.byteLength(last));

      const incremental = await session(app, 'main', 'grow');
      const whole = await session(app, 'whole', 'grow');
      const figures = (s: Record<string, unknown>) => ({
        tokens: s['tokens'],
        costUsd: s['costUsd'],
        usage: s['usage'],
        models: s['models'],
        lastTimestamp: s['lastTimestamp'],
        generations: s['generations'],
      });
      expect(figures(incremental.session)).toEqual(figures(whole.session));
      expect(incremental.session.storedBytes).toBe(Buffer.byteLength(last));
      const bySha = new Map(whole.generations.map((g) => [g.sha256, g.summary]));
      for (const g of incremental.generations) expect(g.summary).toEqual(bySha.get(g.sha256));
      const latest = incremental.generations.find((g) => g.sha256 === sha256(last));
      expect(latest?.extends).toBe(sha256(texts[steps - 1] ?? ''));
      expect(latest?.storedBytes).toBe(
        Buffer.byteLength(last) - Buffer.byteLength(texts[steps - 1] ?? ''),
      );
    });

    it('accepts a compressed increment', async () => {
      const [a, b] = [grown('zinc', 3), grown('zinc', 5)];
      await putTranscript(app, a, a, { sessionId: 'zinc' });
      const response = await putIncrement(app, b, a, {
        sessionId: 'zinc',
        body: zstdCompressSync(after(b, a)),
        headers: { 'content-encoding': 'zstd' },
      });
      expect(response.status).toBe(201);
      expect((await download(app, 'main', 'zinc', b)).text === b).toBe(true);
    });

    it('answers 409 base_not_found for a base it does not have, and stores nothing', async () => {
      const [a, b] = [grown('nobase', 2), grown('nobase', 3)];
      const response = await putIncrement(app, b, a, { sessionId: 'nobase' });
      expect(response.status).toBe(409);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('base_not_found');
      expect(body.error.message).toMatch(/send the whole transcript/);
      expect(await blobBytes(storage, `deltas/default~main/nobase/`)).toEqual({
        count: 0,
        bytes: 0,
      });
    });

    it('refuses an increment whose bytes do not make the announced whole, and stores nothing', async () => {
      const [a, b] = [grown('badinc', 2), grown('badinc', 3)];
      await putTranscript(app, a, a, { sessionId: 'badinc' });
      const tampered = Buffer.from(after(b, a));
      tampered[10] = 0x20;
      const response = await putIncrement(app, b, a, { sessionId: 'badinc', body: tampered });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'sha256_mismatch',
      );
      // Bytes that are not transcript lines are refused by the same rules as a whole upload.
      const junk = Buffer.from('not json\n');
      const whole = Buffer.concat([Buffer.from(a), junk]);
      const invalid = await putTranscript(app, junk, whole, {
        sessionId: 'badinc',
        query: `&base=${sha256(a)}`,
      });
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { error: { message: string } }).error.message).toMatch(
        /^Line \d+: not valid JSON/,
      );
      expect(await blobBytes(storage, `deltas/default~main/badinc/`)).toEqual({
        count: 0,
        bytes: 0,
      });
      expect((await session(app, 'main', 'badinc')).session.generations).toBe(1);
    });

    it('answers 409 base_not_line_end when the base ends inside a line', async () => {
      const a = grown('partial', 2).trimEnd();
      const b = `${a}\n{"type":"custom","id":"x1"}\n`;
      await putTranscript(app, a, a, { sessionId: 'partial' });
      const response = await putIncrement(app, b, a, { sessionId: 'partial' });
      expect(response.status).toBe(409);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'base_not_line_end',
      );
    });

    it('answers already_present for content stored before, whichever way it comes, and keeps one copy', async () => {
      const [a, b] = [grown('dup', 2), grown('dup', 4)];
      await putTranscript(app, a, a, { sessionId: 'dup' });
      expect((await putIncrement(app, b, a, { sessionId: 'dup' })).status).toBe(201);
      const again = await putIncrement(app, b, a, { sessionId: 'dup' });
      expect(again.status).toBe(200);
      // The same content whole (a delete archive equal to the last snapshot): nothing new kept.
      const archive = await putTranscript(app, b, b, {
        sessionId: 'dup',
        kind: 'deleted',
        fileName: 'dup.jsonl.deleted.2026-09-01T10-00-00.000Z',
        query: '&origin=archive&archiveReason=delete',
      });
      expect(archive.status).toBe(200);
      expect(((await archive.json()) as { status: string }).status).toBe('already_present');
      // Nothing new kept but the fact: the session reads as deleted, with the archive's context.
      const detail = await session(app, 'main', 'dup');
      expect(detail.session['state']).toMatchObject({
        state: 'deleted',
        since: '2026-09-01T10:00:00.000Z',
        archiveReason: 'delete',
      });
      expect(detail.generations.at(-1)).toMatchObject({
        archivedAs: { kind: 'deleted', fileName: 'dup.jsonl.deleted.2026-09-01T10-00-00.000Z' },
      });
      expect(detail.session.generations).toBe(2);
      // The same bytes as a reset archive after that change nothing; a session whose bytes came
      // as a reset archive and then as a delete archive reads as deleted.
      const c = grown('redel', 2);
      await putTranscript(app, c, c, { sessionId: 'redel' });
      for (const [kind, time] of [
        ['reset', '2026-09-01T10-00-00.000Z'],
        ['deleted', '2026-09-02T10-00-00.000Z'],
        ['reset', '2026-09-03T10-00-00.000Z'],
      ] as const) {
        const answer = await putTranscript(app, c, c, {
          sessionId: 'redel',
          kind,
          fileName: `redel.jsonl.${kind}.${time}`,
        });
        expect(answer.status).toBe(200);
      }
      expect((await session(app, 'main', 'redel')).session['state']).toMatchObject({
        state: 'deleted',
        since: '2026-09-02T10:00:00.000Z',
      });
      const stored =
        (await blobBytes(storage, 'transcripts/default~main/dup/')).bytes +
        (await blobBytes(storage, 'deltas/default~main/dup/')).bytes;
      expect(stored).toBe(Buffer.byteLength(b));
      expect((await download(app, 'main', 'dup', a)).text === a).toBe(true);
      expect((await download(app, 'main', 'dup', b)).text === b).toBe(true);
    });

    it('refuses an origin it does not know', async () => {
      const a = grown('origin', 2);
      const response = await putTranscript(app, a, a, {
        sessionId: 'origin',
        query: '&origin=guess',
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'invalid_origin',
      );
    });

    it('needs a key that may upload for the host, like any upload', async () => {
      const [a, b] = [grown('auth', 2), grown('auth', 3)];
      await putTranscript(app, a, a, { sessionId: 'auth' });
      const response = await putTranscript(app, after(b, a), b, {
        sessionId: 'auth',
        key: 'not-a-key-at-all-0000',
        query: `&base=${sha256(a)}`,
      });
      expect(response.status).toBe(401);
    });

    it('counts every message once when increments follow a rewritten transcript', async () => {
      // a, a+more as an increment; then c, a rewrite holding a's first lines and new ones; then
      // an increment of c. Stored whole under another agent, the figures must be the same.
      const a = grown('rewrite', 3);
      const more = grown('rewrite', 5);
      const c = `${a}${buildTranscript({ sessionId: 'rewrite', turns: 2, idPrefix: 'r' }).text.split('\n').slice(1).join('\n')}`;
      const cMore = `${c}{"type":"custom","id":"tail"}\n`;
      for (const agentId of ['main', 'whole']) {
        await putTranscript(app, a, a, { sessionId: 'rewrite', agentId });
        if (agentId === 'main') {
          expect((await putIncrement(app, more, a, { sessionId: 'rewrite', agentId })).status).toBe(
            201,
          );
          expect(
            (await putTranscript(app, c, c, { sessionId: 'rewrite', agentId, kind: 'bak' })).status,
          ).toBe(201);
          expect(
            (await putIncrement(app, cMore, c, { sessionId: 'rewrite', agentId })).status,
          ).toBe(201);
        } else {
          for (const text of [more, c, cMore])
            expect(
              (await putTranscript(app, text, text, { sessionId: 'rewrite', agentId })).status,
            ).toBe(201);
        }
      }
      const [incremental, whole] = await Promise.all([
        session(app, 'main', 'rewrite'),
        session(app, 'whole', 'rewrite'),
      ]);
      expect(incremental.session['usage']).toEqual(whole.session['usage']);
      expect(incremental.session['tokens']).toEqual(whole.session['tokens']);
    });
  },
);

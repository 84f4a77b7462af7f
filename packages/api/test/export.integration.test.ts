import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import { backends, get, putTranscript, sha256, useBackend } from '../src/testing/api-harness.ts';

const line = (value: unknown) => JSON.stringify(value);
const KEY = `ghp_${'Z'.repeat(36)}`;
const transcript = (sessionId: string, day: string, words: string) =>
  `${[
    line({ type: 'session', id: sessionId, version: 3, timestamp: `${day}T09:00:00Z` }),
    line({
      type: 'message',
      id: `${sessionId}-u`,
      timestamp: `${day}T09:00:01Z`,
      message: { role: 'user', content: `${words}, token ${KEY}` },
    }),
    line({
      type: 'message',
      id: `${sessionId}-a`,
      timestamp: `${day}T09:00:02Z`,
      message: {
        role: 'assistant',
        model: 'm1',
        content: [{ type: 'text', text: `Done: ${words}.` }],
        usage: { totalTokens: 10, cost: { total: 0.01 } },
      },
    }),
  ].join('\n')}\n`;

/** The names and contents of a tar archive's files. */
function untar(bytes: Uint8Array): Map<string, string> {
  const files = new Map<string, string>();
  const buffer = Buffer.from(bytes);
  let name: string | undefined;
  for (let at = 0; at + 512 <= buffer.length;) {
    const header = buffer.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(
      header.subarray(124, 136).toString('latin1').replace(/\0.*$/, '').trim(),
      8,
    );
    const type = String.fromCharCode(header[156] ?? 0);
    const body = buffer.subarray(at + 512, at + 512 + size).toString('utf8');
    if (type === 'x') name = /path=(.*)\n/.exec(body)?.[1];
    else {
      const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
      const short = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
      files.set(name ?? (prefix === '' ? short : `${prefix}/${short}`), body);
      name = undefined;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe.each(backends(inject('azuriteConnectionString')))(
  'exports on $name storage',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));
    const base = '/v1/hosts/laptop/agents/main/sessions';
    const first = transcript('sess-1', '2026-11-01', 'plan the trip');

    beforeAll(async () => {
      const uploads: [string, string, string][] = [
        ['main', 'sess-1', first],
        ['main', 'sess-2', transcript('sess-2', '2026-11-05', 'write the report')],
        ['helper', 'sess-3', transcript('sess-3', '2026-11-03', 'check the mail')],
      ];
      for (const [agentId, sessionId, text] of uploads) {
        const response = await putTranscript(app, text, text, {
          hostId: 'laptop',
          agentId,
          sessionId,
        });
        expect(response.status, await response.text()).toBe(201);
      }
      expect(storage).toBeDefined();
    });

    it('exports a session as Markdown, masked, as a download', async () => {
      const response = await get(app, `${base}/sess-1/export?format=markdown`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe(
        `attachment; filename="sess-1-${sha256(first).slice(0, 12)}.md"`,
      );
      const text = await response.text();
      expect(text).toContain('## User · 2026-11-01T09:00:01Z');
      expect(text).toContain('plan the trip, token [masked github-token]');
      expect(text).not.toContain(KEY);
    });

    it('exports JSON and HTML, and one generation by its hash', async () => {
      const json = await get(app, `${base}/sess-1/export?format=json&g=${sha256(first)}`);
      expect(json.status).toBe(200);
      const doc = (await json.json()) as { entries: { text?: string }[]; totals: unknown };
      expect(doc.entries[1]?.text).toBe('plan the trip, token [masked github-token]');
      expect(doc.totals).toEqual({ messages: 2, toolCalls: 0, tokens: 10, costUsd: 0.01 });
      const page = await get(app, `${base}/sess-1/export?format=html`);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await page.text()).toContain('[masked github-token]');
    });

    it('keeps the raw transcript exact: the only unmasked way out', async () => {
      const raw = await get(app, `${base}/sess-1/transcripts/${sha256(first)}`);
      expect(await raw.text()).toBe(first);
    });

    it('masks titles in the session list and in a session', async () => {
      const list = (await (await get(app, '/v1/hosts/laptop/agents/main/sessions')).json()) as {
        sessions: { title: string }[];
      };
      expect(list.sessions.map((s) => s.title).join()).not.toContain(KEY);
      expect(list.sessions.map((s) => s.title)).toContain(
        'plan the trip, token [masked github-token]',
      );
      const one = (await (await get(app, `${base}/sess-1`)).json()) as {
        session: { title: string };
      };
      expect(one.session.title).toBe('plan the trip, token [masked github-token]');
    });

    it.each([
      ['?format=pdf', 400, /format must be markdown \(or md\), json or html/],
      ['?thinking=maybe', 400, /thinking must be 1 or 0/],
      ['?g=abc', 400, /64 lowercase hex/],
      [`?g=${'0'.repeat(64)}`, 404, /has no generation/],
    ])('answers %s with %i and what to fix', async (query, status, message) => {
      const response = await get(app, `${base}/sess-1/export${query}`);
      expect(response.status).toBe(status);
      expect(JSON.stringify(await response.json())).toMatch(message);
    });

    it('answers 404 for a session it does not have', async () => {
      const response = await get(app, `${base}/nope/export`);
      expect(response.status).toBe(404);
    });

    it('exports an agent’s sessions in a time range as a tar of Markdown files', async () => {
      const response = await get(app, '/v1/hosts/laptop/agents/main/export?from=2026-11-04');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/x-tar');
      const files = untar(new Uint8Array(await response.arrayBuffer()));
      expect([...files.keys()]).toEqual(['laptop/main/2026-11-05-sess-2.md']);
      expect(files.get('laptop/main/2026-11-05-sess-2.md')).toContain(
        'write the report, token [masked github-token]',
      );
    });

    it('exports every agent of a host, and refuses a format other than Markdown', async () => {
      const files = untar(
        new Uint8Array(await (await get(app, '/v1/hosts/laptop/export')).arrayBuffer()),
      );
      expect([...files.keys()].sort()).toEqual([
        'laptop/helper/2026-11-03-sess-3.md',
        'laptop/main/2026-11-01-sess-1.md',
        'laptop/main/2026-11-05-sess-2.md',
      ]);
      for (const text of files.values()) expect(text).not.toContain(KEY);
      const refused = await get(app, '/v1/hosts/laptop/export?format=json');
      expect(refused.status).toBe(400);
    });

    it('asks for a key that may read the host', async () => {
      const response = await get(app, `${base}/sess-1/export`, null);
      expect(response.status).toBe(401);
    });
  },
);

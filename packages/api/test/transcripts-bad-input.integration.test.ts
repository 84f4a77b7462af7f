import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import { buildTranscript } from '@nexus/core/testing';
import {
  API_KEY,
  type Body,
  backends,
  get,
  putTranscript,
  sha256,
  storedCounts,
  testApp,
  useBackend,
} from '../src/testing/api-harness.ts';

describe.each(backends(inject('azuriteConnectionString')))(
  'transcripts API on $name storage: bad input',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));

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

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '@nexus/core';
import { buildTranscript } from '@nexus/core/testing';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { API_KEY, putTranscript, testApp } from '../testing/api-harness.ts';
import type { NexusApp } from '../http/app-env.ts';

/** The dashboard's answers to bad input, in process: each a page that says what was wrong. */
describe('the dashboard refuses bad input with a page that says why', () => {
  let storage: Storage;
  let app: NexusApp;
  let cookie = '';
  const form = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
    method: 'POST',
    body: new URLSearchParams(body).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
  const page = async (path: string, init: RequestInit = {}) => {
    const response = await app.request(path, {
      ...init,
      headers: { cookie, accept: 'text/html', ...(init.headers as Record<string, string>) },
    });
    return { status: response.status, text: await response.text(), headers: response.headers };
  };

  beforeAll(async () => {
    storage = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-dash-unit-')));
    app = testApp(storage);
    const { text } = buildTranscript({ sessionId: 's1', turns: 3 });
    expect((await putTranscript(app, text, text, { hostId: 'laptop' })).status).toBe(201);
    const login = await app.request('/login', form({ key: API_KEY, next: '/sessions' }));
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/sessions');
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  });
  afterAll(async () => {
    await storage.close();
  });

  it('sends a visitor without a login to the login page, and refuses an action with 401', async () => {
    const visitor = await app.request('/sessions?state=live', { headers: { accept: 'text/html' } });
    expect(visitor.status).toBe(303);
    expect(visitor.headers.get('location')).toBe('/login?next=%2Fsessions%3Fstate%3Dlive');
    const action = await app.request('/admin/keys', form({ role: 'reader' }));
    expect(action.status).toBe(401);
    expect(await action.text()).toContain('log in again');
  });

  it('keeps the page after login on this site', async () => {
    for (const next of [
      '//evil.example/x',
      '/\\evil.example',
      'https://evil.example',
      'javascript:alert(1)',
    ]) {
      const login = await app.request('/login', form({ key: API_KEY, next }));
      expect(login.headers.get('location')).toBe('/');
    }
  });

  it('answers a wrong key, a form of another type, a huge form and a foreign origin', async () => {
    const blank = await app.request('/login', form({ key: '  ' }));
    expect(blank.status).toBe(400);
    expect(await blank.text()).toContain('Paste the whole key');
    const proxied = await app.request(
      '/login',
      form({ key: API_KEY }, { 'x-forwarded-proto': 'https' }),
    );
    expect(proxied.headers.get('set-cookie')).toMatch(/; Secure/i);
    expect(
      (await app.request('/login', form({ key: API_KEY }))).headers.get('set-cookie'),
    ).not.toMatch(/; Secure/i);
    const wrong = await app.request('/login', form({ key: 'no-such-key-0000000000' }));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('not valid');
    const json = await app.request('/login', {
      method: 'POST',
      body: JSON.stringify({ key: API_KEY }),
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(415);
    expect(await json.text()).toContain('application/x-www-form-urlencoded');
    const logout = await page('/logout', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(logout.status).toBe(415);
    expect(logout.headers.get('content-type')).toContain('text/html');
    const huge = await page('/admin/keys', form({ label: 'x'.repeat(70_000) }));
    expect(huge.status).toBe(413);
    expect(huge.text).toContain('at most 65536 bytes');
    const foreign = await app.request(
      '/login',
      form({ key: API_KEY }, { origin: 'https://evil.example' }),
    );
    expect(foreign.status).toBe(403);
  });

  it('answers bad filters, unknown sessions and generations, and unknown pages', async () => {
    const cases: [string, number, string][] = [
      ['/sessions?sort=price', 400, 'sort must be one of'],
      ['/sessions?from=2026-13-01', 400, 'from'],
      ['/sessions?from=2026-12-01&to=2026-11-01', 400, 'from'],
      ['/sessions?page=0', 400, 'page'],
      ['/usage?from=2020-01-01&to=2026-01-01', 400, 'at most 731 days'],
      ['/usage?by=colour', 400, 'by must be one of'],
      ['/webhooks?state=lost', 400, 'state must be one of'],
      ['/hosts/laptop/agents/main/sessions/nope', 404, 'no stored session nope'],
      ['/hosts/laptop/agents/main/sessions/s1?g=abc', 400, 'g names a generation by its SHA-256'],
      [`/hosts/laptop/agents/main/sessions/s1?g=${'0'.repeat(64)}`, 404, 'no generation'],
      ['/hosts/laptop/agents/main/sessions/s1?entry=nope', 200, 'has no entry nope'],
      ['/no/such/page', 404, 'There is no page /no/such/page'],
    ];
    for (const [path, status, text] of cases) {
      const answer = await page(path);
      expect([path, answer.status]).toEqual([path, status]);
      expect(answer.text).toContain(text);
      expect(answer.headers.get('content-type')).toContain('text/html');
      expect(answer.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
  });

  it("refuses an endpoint action it does not know, and shows the API's reason for a bad endpoint", async () => {
    const csrf = /name="csrf" value="([^"]+)"/.exec((await page('/endpoints')).text)?.[1] ?? '';
    expect(csrf).not.toBe('');
    const unknown = await page('/endpoints/x/explode', form({ csrf }));
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('no endpoint action explode');
    const bad = await page(
      '/endpoints',
      form({ csrf, provider: 'carrier-pigeon', agentId: 'main' }),
    );
    expect(bad.status).toBe(200);
    expect(bad.text).toContain('provider: must be one of github, gitlab, bitbucket');
  });

  it('deletes a session from its page: admins only, with the box ticked and a form token', async () => {
    const { text } = buildTranscript({ sessionId: 's-del', turns: 2 });
    const put = await putTranscript(app, text, text, { hostId: 'laptop', sessionId: 's-del' });
    expect(put.status).toBe(201);
    const path = '/hosts/laptop/agents/main/sessions/s-del';
    const shown = await page(path);
    expect(shown.text).toContain(`action="${path}/delete"`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(shown.text)?.[1] ?? '';
    expect(csrf).not.toBe('');
    const stillThere = async () => (await page(path)).status;

    // A session id that is not one is refused before it becomes part of the API's path.
    const climbing = await page(
      '/hosts/laptop/agents/main/sessions/x%2F..%2F..%2Fs1/delete',
      form({ csrf, confirm: 'yes' }),
    );
    expect(climbing.status).toBe(400);
    expect(climbing.text).toContain('has characters that are not allowed');
    expect((await page('/hosts/laptop/agents/main/sessions/s1')).status).toBe(200);
    const noToken = await page(`${path}/delete`, form({ confirm: 'yes' }));
    expect(noToken.status).toBe(403);
    const unticked = await page(`${path}/delete`, form({ csrf }));
    expect(unticked.status).toBe(400);
    expect(unticked.text).toContain('Nothing was deleted: tick the box');
    expect(await stillThere()).toBe(200);

    const created = await app.request('/v1/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'reader', hosts: 'all' }),
    });
    const { key } = (await created.json()) as { key: string };
    const login = await app.request('/login', form({ key, next: '/' }));
    const readerCookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const asReader = (init: RequestInit = {}) =>
      app.request(path + (init.method === 'POST' ? '/delete' : ''), {
        ...init,
        headers: { ...(init.headers as Record<string, string>), cookie: readerCookie },
      });
    const readerPage = await (await asReader()).text();
    expect(readerPage).not.toContain(`action="${path}/delete"`);
    expect(readerPage).toContain('An admin key can delete this session.');
    const readerCsrf = /name="csrf" value="([^"]+)"/.exec(readerPage)?.[1] ?? '';
    const byReader = await asReader(form({ csrf: readerCsrf, confirm: 'yes' }));
    expect(byReader.status).toBe(403);
    expect(await stillThere()).toBe(200);

    const deleted = await page(`${path}/delete`, form({ csrf, confirm: 'yes' }));
    expect(deleted.status).toBe(200);
    expect(deleted.text).toContain('Session deleted');
    expect(deleted.text).toMatch(/s-del<\/code> of laptop \/ main is deleted\.\s+Generations: 1 ·/);
    expect(await stillThere()).toBe(404);
    expect((await page('/sessions')).text).not.toContain('s-del');
    const again = await page(`${path}/delete`, form({ csrf, confirm: 'yes' }));
    expect(again.status).toBe(404);
  });
});

import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { Logger } from 'pino';
import { ForbiddenError, NexusError, type Storage } from '@nexus/core';
import type { Authenticator } from '../auth/authenticator.ts';
import { clientAddressOf, type NexusApp } from '../http/app-env.ts';
import { ASSET_VERSION, DASHBOARD_CSS, DASHBOARD_JS } from './assets.ts';
import { ApiAnswerError, InternalApi } from './internal-api.ts';
import { LOGIN_COOKIE, LOGIN_TTL_MS, LoginSessions } from './login-session.ts';
import { errorPage, htmlResponse, layout, type Html, type Viewer } from './page.ts';
import { SessionCatalog } from './session-catalog.ts';
import { CheckpointCache } from './transcript-page.ts';
import { overviewPage } from './pages/overview-page.ts';
import { sessionsPage } from './pages/sessions-page.ts';
import { searchPage } from './pages/search-page.ts';
import {
  deleteFromPage,
  exportFromPage,
  rawTranscript,
  sessionPage,
} from './pages/session-page.ts';
import type { SecretMasker } from '../content/secret-mask.ts';
import { usageCsv, usagePage } from './pages/usage-page.ts';
import { webhookPage, webhooksPage, replayMany, replayOne } from './pages/webhooks-page.ts';
import { endpointAction, endpointsPage, createEndpoint } from './pages/endpoints-page.ts';
import { adminPage, createKey, revokeKey } from './pages/admin-page.ts';

export interface DashboardDeps {
  readonly storage: Storage;
  readonly authenticator: Authenticator;
  readonly logins: LoginSessions;
  readonly catalog: SessionCatalog;
  readonly masker: SecretMasker;
  readonly logger: Logger;
  readonly now: () => Date;
}

/** What a page handler gets: the request, who is looking, and the means to read and act. */
export interface PageContext {
  readonly c: Context;
  readonly viewer: Viewer;
  readonly api: InternalApi;
  readonly storage: Storage;
  readonly catalog: SessionCatalog;
  /** Where pages of recently read transcripts start. */
  readonly checkpoints: CheckpointCache;
  /** Masks secrets in everything a page shows from a transcript (titles too). */
  readonly masker: SecretMasker;
  readonly now: () => Date;
  /** The fields of a submitted form (POST only). */
  readonly form: URLSearchParams;
}

type PageHandler = (page: PageContext) => Promise<Html | Response>;

/** Largest form a page accepts (a login, an endpoint): far more than any needs. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * The dashboard: server-rendered pages at `/`, for reader and admin keys, logged in with a signed
 * cookie. Pages read through the JSON API (`InternalApi`) or, for the session list, through the
 * in-memory `SessionCatalog`; every action is a POST form with a CSRF token, sent only from this
 * origin, and is the API's own route underneath.
 */
export function dashboardRoutes(app: NexusApp, deps: DashboardDeps): void {
  const api = new InternalApi(app);
  const checkpoints = new CheckpointCache();
  const { logins } = deps;

  app.get('/assets/dashboard.css', () => asset(DASHBOARD_CSS, 'text/css; charset=utf-8'));
  app.get('/assets/dashboard.js', () => asset(DASHBOARD_JS, 'text/javascript; charset=utf-8'));

  app.get('/login', (c) => {
    const next = safeNext(c.req.query('next'));
    return page(loginPage(next, c.req.query('reason')), 200);
  });

  app.post('/login', async (c) => {
    const read = await readForm(c);
    if (!read.ok) return page(loginPage('/', undefined, read.message), read.status);
    const { form } = read;
    const next = safeNext(form.get('next') ?? undefined);
    const key = (form.get('key') ?? '').trim();
    if (!sameOrigin(c)) return page(loginPage(next, 'origin'), 403);
    if (!/^\S{1,500}$/.test(key))
      return page(
        loginPage(next, undefined, 'Paste the whole key: one word, without spaces.'),
        400,
      );
    try {
      const principal = await deps.authenticator.authenticate(`Bearer ${key}`, clientAddressOf(c));
      if (principal.role === 'worker')
        throw new ForbiddenError(
          'forbidden_for_key',
          'This is a worker key: it uploads for its host and cannot open the dashboard. Log in with a reader key (nexus keys create --role reader) or an admin key.',
        );
      const { value } = await logins.issue(principal, key);
      setCookie(c, LOGIN_COOKIE, value, {
        httpOnly: true,
        sameSite: 'Strict',
        // Behind a proxy that ends TLS, the request arrives over http: the proxy says so.
        secure:
          new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https',
        path: '/',
        maxAge: Math.floor(LOGIN_TTL_MS / 1000),
      });
      deps.logger.info({ role: principal.role, keyId: principal.keyId }, 'dashboard login');
      return c.redirect(next, 303);
    } catch (error) {
      if (!(error instanceof NexusError)) throw error;
      deps.logger.info({ status: error.status }, 'dashboard login refused');
      return page(loginPage(next, undefined, error.message), error.status);
    }
  });

  const authed =
    (handler: PageHandler, options: { action?: boolean } = {}) =>
    async (c: Context) => {
      const found = await logins.verify(getCookie(c, LOGIN_COOKIE));
      if (!found) {
        if (c.req.method === 'GET' || c.req.method === 'HEAD')
          return c.redirect(`/login?next=${encodeURIComponent(pathOf(c))}`, 303);
        return page(
          errorPage(401, 'Your login has ended; log in again and repeat the action.'),
          401,
        );
      }
      const viewer: Viewer = {
        principal: found.principal,
        csrf: await logins.csrfToken(found.login),
      };
      let form = new URLSearchParams();
      if (options.action) {
        const read = await readForm(c);
        if (!read.ok) return page(errorPage(read.status, read.message, viewer), read.status);
        form = read.form;
        if (!sameOrigin(c) || !(await logins.checkCsrf(found.login, form.get('csrf') ?? undefined)))
          return page(
            errorPage(
              403,
              'This action did not come from a page of this dashboard (its form token is missing or old); reload the page and try again.',
              viewer,
            ),
            403,
          );
      }
      try {
        const result = await handler({
          c,
          viewer,
          api,
          storage: deps.storage,
          catalog: deps.catalog,
          checkpoints,
          masker: deps.masker,
          now: deps.now,
          form,
        });
        return result instanceof Response ? result : await page(result, 200);
      } catch (error) {
        const status =
          error instanceof NexusError || error instanceof ApiAnswerError ? error.status : 500;
        if (status >= 500)
          deps.logger.error({ err: error, path: c.req.path }, 'dashboard page failed');
        const message =
          status >= 500
            ? 'Something went wrong on the server; the log says what. Try again in a moment.'
            : (error as Error).message;
        return page(errorPage(status, message, viewer), status);
      }
    };

  app.post('/logout', async (c) => {
    const found = await logins.verify(getCookie(c, LOGIN_COOKIE));
    const read = await readForm(c);
    if (!read.ok) return page(errorPage(read.status, read.message), read.status);
    if (found && !(await logins.checkCsrf(found.login, read.form.get('csrf') ?? undefined)))
      return page(errorPage(403, 'Log out from the button on a page of this dashboard.'), 403);
    deleteCookie(c, LOGIN_COOKIE, { path: '/' });
    return c.redirect('/login?reason=logged-out', 303);
  });

  app.get('/', authed(overviewPage));
  app.get('/sessions', authed(sessionsPage));
  app.get('/hosts/:hostId/agents/:agentId/sessions/:sessionId', authed(sessionPage));
  app.get('/hosts/:hostId/agents/:agentId/sessions/:sessionId/raw', authed(rawTranscript));
  app.get('/hosts/:hostId/agents/:agentId/sessions/:sessionId/export', authed(exportFromPage));
  app.post(
    '/hosts/:hostId/agents/:agentId/sessions/:sessionId/delete',
    authed(deleteFromPage, { action: true }),
  );
  app.get('/search', authed(searchPage));
  app.get('/usage', authed(usagePage));
  app.get('/usage.csv', authed(usageCsv));
  app.get('/webhooks', authed(webhooksPage));
  app.get('/webhooks/replay', authed(replayMany));
  app.post('/webhooks/replay', authed(replayMany, { action: true }));
  app.get('/hosts/:hostId/agents/:agentId/webhooks/:id', authed(webhookPage));
  app.post(
    '/hosts/:hostId/agents/:agentId/webhooks/:id/replay',
    authed(replayOne, { action: true }),
  );
  app.get('/endpoints', authed(endpointsPage));
  app.post('/endpoints', authed(createEndpoint, { action: true }));
  app.post('/endpoints/:endpointId/:action', authed(endpointAction, { action: true }));
  app.get('/admin', authed(adminPage));
  app.post('/admin/keys', authed(createKey, { action: true }));
  app.post('/admin/keys/:keyId/revoke', authed(revokeKey, { action: true }));
}

function loginPage(next: string, reason?: string, problem?: string): Html {
  const note =
    reason === 'logged-out'
      ? 'You are logged out.'
      : reason === 'origin'
        ? 'The login form must be sent from this page.'
        : undefined;
  return layout({
    title: 'Log in',
    body: html`<div class="login card">
      <h1>Log in to Nexus</h1>
      <p>
        Paste an admin key (<code>NEXUS_API_KEY</code>, or the key file the server printed at its
        first start) or a reader key (<code>nexus keys create --role reader</code>). Reader keys
        see; only admin keys act.
      </p>
      ${note === undefined ? '' : html`<p class="notice" role="status">${note}</p>`}
      ${problem === undefined ? '' : html`<p class="error" role="alert">${problem}</p>`}
      <form method="post" action="/login">
        <input type="hidden" name="next" value="${next}" />
        <p>
          <label for="key">API key</label><br />
          <input
            id="key"
            name="key"
            type="password"
            autocomplete="current-password"
            required
            autofocus
          />
        </p>
        <button type="submit">Log in</button>
      </form>
      <p class="muted">The login lasts 12 hours, in a cookie only this site can read.</p>
    </div>`,
  });
}

const page = htmlResponse;

function asset(text: string, type: string): Response {
  return new Response(text, {
    headers: {
      'content-type': type,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      etag: `"${ASSET_VERSION}"`,
    },
  });
}

/** Where to go after logging in: a path of this site only (never `//elsewhere`). */
function safeNext(next: string | undefined): string {
  return next !== undefined && /^\/(?![/\\])/.test(next) && next.length < 2000 ? next : '/';
}

function pathOf(c: Context): string {
  const url = new URL(c.req.url);
  return url.pathname + url.search;
}

/**
 * A form may change something only when it comes from this site: the browser says so in
 * `Sec-Fetch-Site` and `Origin` (the cookie's SameSite=Strict already keeps it from other sites).
 */
function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

/** A submitted form, or why it is refused (too large, not a form): a page says so. */
async function readForm(
  c: Context,
): Promise<{ ok: true; form: URLSearchParams } | { ok: false; status: number; message: string }> {
  const tooLarge = {
    ok: false,
    status: 413,
    message: `A form may hold at most ${MAX_FORM_BYTES} bytes.`,
  } as const;
  if (Number(c.req.header('content-length') ?? '0') > MAX_FORM_BYTES) return tooLarge;
  if (!(c.req.header('content-type') ?? '').startsWith('application/x-www-form-urlencoded'))
    return {
      ok: false,
      status: 415,
      message:
        'A dashboard form is sent as application/x-www-form-urlencoded: send it from the dashboard page.',
    };
  const text = await c.req.text();
  if (text.length > MAX_FORM_BYTES) return tooLarge;
  return { ok: true, form: new URLSearchParams(text) };
}

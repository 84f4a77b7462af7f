import { html, raw } from 'hono/html';
import type { Principal } from '../auth/principal.ts';
import { describePrincipal } from '../auth/principal.ts';
import { ASSET_VERSION } from './assets.ts';

/** A piece of HTML: what `html` makes. Strings put into it are escaped; `raw` is not. */
export type Html = ReturnType<typeof html>;

/**
 * Every page's headers: no script but the app's own file, no inline style or script, no framing,
 * no sending the page's address elsewhere. Transcripts and webhook bodies are strangers' text:
 * escaping keeps them inert, and this keeps a missed escape from running anything.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** A page as an HTTP answer, with `PAGE_HEADERS`. */
export async function htmlResponse(content: Html, status: number): Promise<Response> {
  return new Response(await content, { status, headers: PAGE_HEADERS });
}

/** Who is looking, for the menu and for each page's choices (readers see, admins act). */
export interface Viewer {
  readonly principal: Principal;
  /** The token every form that changes something carries (`LoginSessions.csrfToken`). */
  readonly csrf: string;
}

export const isAdmin = (viewer: Viewer): boolean => viewer.principal.role === 'admin';

const MENU: readonly { path: string; label: string; adminOnly?: boolean }[] = [
  { path: '/', label: 'Overview' },
  { path: '/sessions', label: 'Sessions' },
  { path: '/search', label: 'Search' },
  { path: '/usage', label: 'Usage' },
  { path: '/webhooks', label: 'Webhooks' },
  { path: '/endpoints', label: 'Endpoints' },
  { path: '/admin', label: 'Hosts & keys', adminOnly: true },
];

/** The page around a page's content: head, menu, who is logged in, logout. */
export function layout(options: {
  title: string;
  viewer?: Viewer;
  current?: string;
  body: Html;
}): Html {
  const { viewer } = options;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · Nexus</title>
        <link rel="stylesheet" href="/assets/dashboard.css?v=${ASSET_VERSION}" />
        <script src="/assets/dashboard.js?v=${ASSET_VERSION}" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <span class="brand">Nexus</span>
          ${
            viewer === undefined
              ? ''
              : html`<nav aria-label="Main">
                    <ul>
                      ${MENU.filter((item) => !item.adminOnly || isAdmin(viewer)).map(
                        (item) =>
                          html`<li>
                            <a
                              href="${item.path}"
                              ${item.path === options.current ? raw('aria-current="page"') : ''}
                              >${item.label}</a
                            >
                          </li>`,
                      )}
                    </ul>
                  </nav>
                  <form class="logout" method="post" action="/logout">
                    <input type="hidden" name="csrf" value="${viewer.csrf}" />
                    <span class="who">${describePrincipal(viewer.principal)}</span>
                    <button type="submit">Log out</button>
                  </form>`
          }
        </header>
        <main id="main">${options.body}</main>
      </body>
    </html>`;
}

/** A labelled menu of a filter form: "all" (empty) first, then each value, `current` selected. */
export function selectField(options: {
  name: string;
  label: string;
  values: readonly string[];
  current: string | undefined;
  all: string;
}): Html {
  return html`<label
    >${options.label}
    <select name="${options.name}">
      <option value="">${options.all}</option>
      ${options.values.map(
        (value) =>
          html`<option value="${value}" ${value === options.current ? raw('selected') : ''}>
            ${value}
          </option>`,
      )}
    </select></label
  >`;
}

/** A hidden CSRF field for a form that changes something. */
export const csrfField = (viewer: Viewer): Html =>
  html`<input type="hidden" name="csrf" value="${viewer.csrf}" />`;

/** `/path?a=1&b=2` from a base and query values, leaving out empty ones. */
export function hrefWith(
  path: string,
  query: Readonly<Record<string, string | undefined>>,
): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, value);
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

const DOLLARS = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const WHOLE = new Intl.NumberFormat('en-US');

export function usd(value: number): string {
  if (value === 0) return '$0';
  if (value < 0.01) return `$${value.toFixed(4)}`;
  return `$${DOLLARS.format(value)}`;
}

export function count(value: number | undefined): string {
  return value === undefined ? '—' : WHOLE.format(value);
}

/** 1.2 M, 34 k: token counts at a glance. */
export function compact(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(1)} G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)} M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)} k`;
  return WHOLE.format(value);
}

export function bytes(value: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let unit = 0;
  let amount = value;
  while (amount >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? amount : amount.toFixed(1)} ${units[unit] ?? 'B'}`;
}

/** `2026-12-02 16:30` (UTC), in a `<time>` element that carries the exact instant. */
export function when(iso: string | null | undefined): Html {
  if (iso === null || iso === undefined || iso === '') return html`<span class="muted">—</span>`;
  const text = iso.replace('T', ' ').slice(0, 16);
  return html`<time datetime="${iso}" title="${iso}">${text}</time>`;
}

/** A table column's heading; `num` ones hold figures (right-aligned). */
export type Column = string | { readonly label: string; readonly num: true };

export function num(label: string): Column {
  return { label, num: true };
}

/** A table's heading row. */
export function tableHead(columns: readonly Column[]): Html {
  return html`<thead>
    <tr>
      ${columns.map((column) =>
        typeof column === 'string'
          ? html`<th scope="col">${column}</th>`
          : html`<th scope="col" class="num">${column.label}</th>`,
      )}
    </tr>
  </thead>`;
}

/** An empty table's one row, saying why it is empty and what to do. */
export function emptyRow(columns: number, text: string): Html {
  return html`<tr>
    <td colspan="${columns}" class="empty">${text}</td>
  </tr>`;
}

/** The page shown for an error: what went wrong, in words, with the status. */
export function errorPage(status: number, message: string, viewer?: Viewer): Html {
  return layout({
    title: `Error ${status}`,
    ...(viewer === undefined ? {} : { viewer }),
    body: html`<h1>${status === 404 ? 'Not found' : `Error ${status}`}</h1>
      <p class="error" role="alert">${message}</p>
      <p><a href="/">Back to the overview</a></p>`,
  });
}

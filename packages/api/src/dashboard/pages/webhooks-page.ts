import { html, raw } from 'hono/html';
import { ValidationError, validateScope, type WebhookState, type WebhookView } from '@nexus/core';
import { WEBHOOK_STATES, type AttemptRecord } from '../../webhooks/webhook-item.ts';
import type { Principal } from '../../auth/principal.ts';
import type { Endpoint } from '../../webhooks/endpoint.ts';
import type { PageContext } from '../dashboard-routes.ts';
import { ApiAnswerError, type InternalApi } from '../internal-api.ts';
import {
  bytes,
  count,
  csrfField,
  emptyRow,
  hrefWith,
  isAdmin,
  layout,
  selectField,
  when,
  num,
  tableHead,
  type Html,
} from '../page.ts';

const ITEM_COLUMNS = [
  'State',
  'Provider',
  'Event',
  'Endpoint',
  'Received',
  num('Attempts'),
  'Last error',
  'Next attempt',
];
const ATTEMPT_COLUMNS = ['When', 'Outcome', num('Gateway'), 'Error'];

/** Items shown per scope and page. */
const PER_PAGE = 50;
/** Most items one "replay many" replays: more is a job for the CLI. */
const MAX_REPLAY = 1000;
/** A body larger than this is not pretty-printed on the page (the raw part is cut too). */
const MAX_SHOWN_BODY = 256 * 1024;

interface WebhookFilter {
  readonly hostId?: string | undefined;
  readonly agentId?: string | undefined;
  readonly state?: WebhookState;
  readonly endpointId?: string | undefined;
  readonly provider?: string | undefined;
}

/** The webhook log: every item of the agents the key may read, newest first, filtered. */
export async function webhooksPage({ c, viewer, api }: PageContext): Promise<Html> {
  const filter = webhookFilter((name) => c.req.query(name));
  const { endpoints } = await api.get<{ endpoints: Endpoint[] }>(viewer.principal, '/v1/endpoints');
  const scopes = scopesOf(endpoints, filter);
  const cursor = c.req.query('cursor');
  const pages = await Promise.all(
    scopes.map((scope) =>
      api.get<{ items: WebhookView[]; cursor?: string }>(
        viewer.principal,
        hrefWith('/v1/webhooks', {
          ...scope,
          state: filter.state,
          limit: String(PER_PAGE),
          cursor: scopes.length === 1 ? cursor : undefined,
        }),
      ),
    ),
  );
  const items = pages
    .flatMap((page) => page.items)
    .filter((item) => matches(filter, item))
    .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
  const next = scopes.length === 1 ? pages[0]?.cursor : undefined;
  const choice = (name: string, label: string, values: readonly string[], current?: string) =>
    selectField({ name, label, values, current, all: 'Any' });
  const query = queryOf(filter);
  const body = html`<h1>Webhooks</h1>
    <form class="filters" method="get" action="/webhooks" data-live>
      ${choice('host', 'Host', unique(endpoints.map((e) => e.hostId)), filter.hostId)}
      ${choice('agent', 'Agent', unique(endpoints.map((e) => e.agentId)), filter.agentId)}
      ${choice('state', 'State', WEBHOOK_STATES, filter.state)}
      ${choice('endpoint', 'Endpoint', unique(endpoints.map((e) => e.id)), filter.endpointId)}
      ${choice('provider', 'Provider', unique(endpoints.map((e) => e.provider.type)), filter.provider)}
      <button type="submit">Filter</button>
    </form>
    <div id="results">
      ${
        isAdmin(viewer)
          ? html`<p>
              <a href="${hrefWith('/webhooks/replay', query)}">Replay every item that matches…</a>
            </p>`
          : ''
      }
      <table>
        ${tableHead(ITEM_COLUMNS)}
        <tbody>
          ${
            items.length === 0
              ? emptyRow(
                  ITEM_COLUMNS.length,
                  endpoints.length === 0
                    ? 'No endpoints yet: create one on the Endpoints page, then point a sender at its URL.'
                    : 'No webhook matches these filters.',
                )
              : items.map(
                  (item) =>
                    html`<tr>
                      <td><span class="badge ${item.state}">${item.state}</span></td>
                      <td>${item.provider}</td>
                      <td>
                        <a href="${itemHref(item)}"
                          >${item.eventType === '' ? '(none)' : item.eventType}</a
                        >
                      </td>
                      <td>${item.endpointId}</td>
                      <td>${when(item.receivedAt)}</td>
                      <td class="num">${count(item.attempts)}</td>
                      <td class="title-cell">${item.lastError ?? ''}</td>
                      <td>${item.state === 'pending' ? when(item.availableAt) : ''}</td>
                    </tr>`,
                )
          }
        </tbody>
      </table>
      ${
        next === undefined
          ? ''
          : html`<nav class="pager" aria-label="Pages">
              <a href="${hrefWith('/webhooks', { ...query, cursor: next })}">More →</a>
            </nav>`
      }
    </div>`;
  return layout({ title: 'Webhooks', viewer, current: '/webhooks', body });
}

/** One item: its facts, headers (secrets masked), body (pretty and raw), delivery, replay. */
export async function webhookPage({ c, viewer, api }: PageContext): Promise<Html> {
  const scope = validateScope(c.req.param('hostId') ?? '', c.req.param('agentId') ?? '');
  const id = c.req.param('id') ?? '';
  const base = `/v1/hosts/${encodeURIComponent(scope.hostId)}/agents/${encodeURIComponent(scope.agentId)}/webhooks/${encodeURIComponent(id)}`;
  const item = await api.get<
    WebhookView & { headers: Record<string, string>; history?: AttemptRecord[] }
  >(viewer.principal, base);
  const bodyAnswer = await api.text(viewer.principal, `${base}/body`);
  const bodyText = bodyAnswer.ok ? bodyAnswer.text : undefined;
  const replayed = c.req.query('replayed') === '1';
  const body = html`<h1>${item.provider} ${item.eventType === '' ? 'webhook' : item.eventType}</h1>
    ${
      replayed
        ? html`<p class="notice" role="status">
            Queued again: the worker delivers it on its next claim.
          </p>`
        : ''
    }
    <div class="layout-2">
      <section>
        <h2>Headers</h2>
        <table>
          <tbody>
            ${Object.entries(item.headers)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(
                ([name, value]) =>
                  html`<tr>
                    <th scope="row">${name}</th>
                    <td class="title-cell">${maskHeader(name, value)}</td>
                  </tr>`,
              )}
          </tbody>
        </table>
        <h2>Attempts</h2>
        ${historyTable(item.history ?? [])}
        <h2>Body</h2>
        ${
          bodyText === undefined
            ? html`<p class="error">${bodyAnswer.error ?? 'The body could not be read.'}</p>`
            : bodyView(bodyText, item.contentType)
        }
      </section>
      <aside class="side">
        <div class="card">
          <dl class="facts">
            <dt>State</dt>
            <dd><span class="badge ${item.state}">${item.state}</span></dd>
            <dt>Endpoint</dt>
            <dd>${item.endpointId}</dd>
            <dt>Host / agent</dt>
            <dd>${item.hostId} / ${item.agentId}</dd>
            <dt>Received</dt>
            <dd>${when(item.receivedAt)}</dd>
            <dt>Size</dt>
            <dd>${bytes(item.bytes)}</dd>
            <dt>Dedupe key</dt>
            <dd><code>${item.dedupeKey}</code></dd>
            <dt>Delivery</dt>
            <dd>${item.action}</dd>
          </dl>
          <h2>Now</h2>
          <dl class="facts">
            <dt>Attempts</dt>
            <dd>${count(item.attempts)}</dd>
            <dt>Last attempt</dt>
            <dd>${when(item.lastAttemptAt)}</dd>
            <dt>Gateway answered</dt>
            <dd>
              ${item.lastStatus === undefined || item.lastStatus === 0 ? '—' : item.lastStatus}
            </dd>
            <dt>Last error</dt>
            <dd>${item.lastError ?? '—'}</dd>
            <dt>Delivered</dt>
            <dd>${when(item.deliveredAt)}</dd>
            <dt>Dead since</dt>
            <dd>${when(item.deadAt)}</dd>
            <dt>Next attempt</dt>
            <dd>${item.state === 'pending' ? when(item.availableAt) : '—'}</dd>
            <dt>Replays</dt>
            <dd>${count(item.replays)}</dd>
          </dl>
          ${
            isAdmin(viewer)
              ? html`<form
                  method="post"
                  action="/hosts/${item.hostId}/agents/${item.agentId}/webhooks/${item.id}/replay"
                >
                  ${csrfField(viewer)}
                  <button type="submit">Replay</button>
                </form>`
              : html`<p class="muted">An admin key can replay it.</p>`
          }
        </div>
      </aside>
    </div>`;
  return layout({ title: 'Webhook', viewer, current: '/webhooks', body });
}

export async function replayOne({ c, viewer, api }: PageContext): Promise<Response> {
  const scope = validateScope(c.req.param('hostId') ?? '', c.req.param('agentId') ?? '');
  const id = c.req.param('id') ?? '';
  const path = `/hosts/${encodeURIComponent(scope.hostId)}/agents/${encodeURIComponent(scope.agentId)}/webhooks/${encodeURIComponent(id)}`;
  const answer = await api.call(viewer.principal, 'POST', `/v1${path}/replay`);
  if (!answer.ok) throw new ApiAnswerError(answer.status, answer.error?.message ?? '');
  return c.redirect(`${path}?replayed=1`, 303);
}

/**
 * Replay many: a GET shows how many items the filter matches and asks; the POST replays them
 * (at most `MAX_REPLAY`) and says how many were queued again.
 */
export async function replayMany({ c, viewer, api, form }: PageContext): Promise<Html> {
  const read = (name: string) =>
    c.req.method === 'POST' ? (form.get(name) ?? undefined) : c.req.query(name);
  const filter = webhookFilter(read);
  const { endpoints } = await api.get<{ endpoints: Endpoint[] }>(viewer.principal, '/v1/endpoints');
  const matching = await matchingItems(api, viewer.principal, scopesOf(endpoints, filter), filter);
  const query = queryOf(filter);
  let content: Html;
  if (c.req.method === 'POST') {
    let replayed = 0;
    const failed: string[] = [];
    for (const item of matching) {
      const answer = await api.call(
        viewer.principal,
        'POST',
        `/v1/hosts/${encodeURIComponent(item.hostId)}/agents/${encodeURIComponent(item.agentId)}/webhooks/${encodeURIComponent(item.id)}/replay`,
      );
      if (answer.ok) replayed += 1;
      else failed.push(`${item.id}: ${answer.error?.message ?? answer.status}`);
    }
    content = html`<p class="notice" role="status">
        Queued ${count(replayed)} item${replayed === 1 ? '' : 's'} again.
      </p>
      ${
        failed.length === 0
          ? ''
          : html`<p class="error">Not replayed:</p>
              <ul>
                ${failed.slice(0, 50).map((line) => html`<li>${line}</li>`)}
              </ul>`
      }
      <p><a href="${hrefWith('/webhooks', query)}">Back to the log</a></p>`;
  } else {
    content = html`<p>
        ${count(matching.length)}${matching.length >= MAX_REPLAY ? ' (the most one replay takes)' : ''}
        item${matching.length === 1 ? '' : 's'} match: ${describeFilter(filter)}. Replaying queues
        each again for delivery.
      </p>
      ${
        isAdmin(viewer) && matching.length > 0
          ? html`<form method="post" action="/webhooks/replay">
              ${csrfField(viewer)}
              ${Object.entries(query).map(([name, value]) =>
                value === undefined
                  ? ''
                  : html`<input type="hidden" name="${name}" value="${value}" />`,
              )}
              <button type="submit">Replay ${count(matching.length)} items</button>
              <a href="${hrefWith('/webhooks', query)}">Cancel</a>
            </form>`
          : html`<p><a href="${hrefWith('/webhooks', query)}">Back to the log</a></p>`
      }`;
  }
  return layout({
    title: 'Replay webhooks',
    viewer,
    current: '/webhooks',
    body: html`<h1>Replay webhooks</h1>
      ${content}`,
  });
}

async function matchingItems(
  api: InternalApi,
  principal: Principal,
  scopes: readonly { hostId: string; agentId: string }[],
  filter: WebhookFilter,
): Promise<WebhookView[]> {
  const found: WebhookView[] = [];
  for (const scope of scopes) {
    let cursor: string | undefined;
    do {
      const page = await api.get<{ items: WebhookView[]; cursor?: string }>(
        principal,
        hrefWith('/v1/webhooks', { ...scope, state: filter.state, limit: '200', cursor }),
      );
      for (const item of page.items) if (matches(filter, item)) found.push(item);
      cursor = page.cursor;
    } while (cursor !== undefined && found.length < MAX_REPLAY);
  }
  return found.slice(0, MAX_REPLAY);
}

/** The filter as the query of a link or a form. */
function queryOf(filter: WebhookFilter): Record<string, string | undefined> {
  return {
    host: filter.hostId,
    agent: filter.agentId,
    state: filter.state,
    endpoint: filter.endpointId,
    provider: filter.provider,
  };
}

/** The filter's parts a queue listing cannot apply (it lists one agent in one state). */
function matches(filter: WebhookFilter, item: WebhookView): boolean {
  return (
    (filter.endpointId === undefined || item.endpointId === filter.endpointId) &&
    (filter.provider === undefined || item.provider === filter.provider)
  );
}

function webhookFilter(read: (name: string) => string | undefined): WebhookFilter {
  const value = (name: string) => {
    const v = read(name);
    return v === undefined || v === '' ? undefined : v;
  };
  const state = value('state');
  if (state !== undefined && !(WEBHOOK_STATES as readonly string[]).includes(state))
    throw new ValidationError(
      'invalid_state',
      `state must be one of ${WEBHOOK_STATES.join(', ')}.`,
    );
  return {
    ...(value('host') === undefined ? {} : { hostId: value('host') }),
    ...(value('agent') === undefined ? {} : { agentId: value('agent') }),
    ...(state === undefined ? {} : { state: state as WebhookState }),
    ...(value('endpoint') === undefined ? {} : { endpointId: value('endpoint') }),
    ...(value('provider') === undefined ? {} : { provider: value('provider') }),
  };
}

/** The agents whose queues the filter covers: those with an endpoint the key can see. */
function scopesOf(
  endpoints: readonly Endpoint[],
  filter: WebhookFilter,
): { hostId: string; agentId: string }[] {
  const keys = new Set(
    endpoints
      .filter(
        (e) =>
          (filter.hostId === undefined || e.hostId === filter.hostId) &&
          (filter.agentId === undefined || e.agentId === filter.agentId) &&
          (filter.endpointId === undefined || e.id === filter.endpointId),
      )
      .map((e) => `${e.hostId}\n${e.agentId}`),
  );
  return [...keys].map((key) => {
    const [hostId = '', agentId = ''] = key.split('\n');
    return { hostId, agentId };
  });
}

function describeFilter(filter: WebhookFilter): string {
  const parts = [
    filter.state === undefined ? 'any state' : `state ${filter.state}`,
    filter.hostId === undefined ? undefined : `host ${filter.hostId}`,
    filter.agentId === undefined ? undefined : `agent ${filter.agentId}`,
    filter.endpointId === undefined ? undefined : `endpoint ${filter.endpointId}`,
    filter.provider === undefined ? undefined : `provider ${filter.provider}`,
  ];
  return parts.filter((part) => part !== undefined).join(', ');
}

function itemHref(item: WebhookView): string {
  return `/hosts/${encodeURIComponent(item.hostId)}/agents/${encodeURIComponent(item.agentId)}/webhooks/${encodeURIComponent(item.id)}`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** Headers that carry a signature, a token or a cookie: only their first characters are shown. */
const SECRET_HEADER = /(signature|token|secret|auth|cookie|key|hmac|password)/i;

export function maskHeader(name: string, value: string): string {
  if (!SECRET_HEADER.test(name)) return value;
  if (value.length <= 8) return '••••••';
  return `${value.slice(0, 6)}•••••• (${value.length} characters, masked)`;
}

/** Every attempt (the last 20) with the gateway's answer, and each replay. */
function historyTable(history: readonly AttemptRecord[]): Html {
  return html`<table>
    ${tableHead(ATTEMPT_COLUMNS)}
    <tbody>
      ${
        history.length === 0
          ? emptyRow(ATTEMPT_COLUMNS.length, 'Not tried yet.')
          : [...history].reverse().map(
              (record) =>
                html`<tr>
                  <td>${when(record.at)}</td>
                  <td>
                    <span
                      class="badge ${record.outcome === 'delivered' ? 'delivered' : record.outcome === 'replayed' ? 'pending' : 'dead'}"
                      >${record.outcome}</span
                    >
                  </td>
                  <td class="num">
                    ${record.status === undefined || record.status === 0 ? '—' : record.status}
                  </td>
                  <td class="title-cell">${record.error ?? ''}</td>
                </tr>`,
            )
      }
    </tbody>
  </table>`;
}

function bodyView(text: string, contentType: string): Html {
  const cut = text.length > MAX_SHOWN_BODY;
  const shown = cut ? text.slice(0, MAX_SHOWN_BODY) : text;
  let pretty: string | undefined;
  if (!cut && /json/i.test(contentType)) {
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      pretty = undefined;
    }
  }
  return html`${
      pretty === undefined
        ? ''
        : html`<details open>
            <summary>Pretty-printed</summary>
            <pre class="raw">${pretty}</pre>
          </details>`
    }
    <details ${pretty === undefined ? raw('open') : ''}>
      <summary>Raw (${contentType})</summary>
      <pre class="raw">${shown}</pre>
      ${cut ? html`<p class="truncated">Shown: the first 256 KB.</p>` : ''}
    </details>`;
}

import { html } from 'hono/html';
import { SESSION_STATES, ValidationError, type SessionStateName } from '@nexus/core';
import { canRead } from '../../auth/access.ts';
import { checkRange, parseLimit, parseTime } from '../../http/query-params.ts';
import type { PageContext } from '../dashboard-routes.ts';
import { sessionHref } from '../links.ts';
import {
  bytes,
  compact,
  count,
  emptyRow,
  hrefWith,
  layout,
  selectField,
  usd,
  when,
  num,
  tableHead,
  type Html,
} from '../page.ts';
import {
  SESSION_SORTS,
  filterChoices,
  filterSessions,
  type CatalogSession,
  type SessionSort,
} from '../session-catalog.ts';

const SESSION_COLUMNS = [
  'Title',
  'Host / agent',
  'Started',
  'Last activity',
  num('Messages'),
  num('Tool calls'),
  num('Tokens'),
  num('Cost'),
  num('Size'),
  'State',
];

const PER_PAGE = 50;

/**
 * Sessions of every host and agent the key may read: filtered by host, agent, model, channel,
 * state, activity range and words of the title; sorted by last activity, cost, size or messages;
 * 50 to a page.
 */
export async function sessionsPage({ c, viewer, catalog }: PageContext): Promise<Html> {
  const q = (name: string) => {
    const value = c.req.query(name);
    return value === undefined || value === '' ? undefined : value;
  };
  const sort = (q('sort') ?? 'activity') as SessionSort;
  if (!SESSION_SORTS.includes(sort))
    throw new ValidationError('invalid_sort', `sort must be one of ${SESSION_SORTS.join(', ')}.`);
  const state = q('state') as SessionStateName | undefined;
  if (state !== undefined && !SESSION_STATES.includes(state))
    throw new ValidationError(
      'invalid_state',
      `state must be one of ${SESSION_STATES.join(', ')}.`,
    );
  const fromMs = parseTime('from', q('from'));
  const toDay = parseTime('to', q('to'));
  checkRange('from', fromMs, 'to', toDay);
  // "to" names a day: sessions active on that day are in.
  const toMs = toDay === undefined ? undefined : toDay + 86_400_000;
  const pageNumber = parseLimit(q('page'), 1, 1_000_000, 'page');
  const readable = (hostId: string) => canRead(viewer.principal, hostId);
  const listed = await catalog.sessions();
  const { sessions, atMs } = listed;
  const filter = {
    sort,
    readable,
    ...(q('host') === undefined ? {} : { hostId: q('host') }),
    ...(q('agent') === undefined ? {} : { agentId: q('agent') }),
    ...(q('model') === undefined ? {} : { model: q('model') }),
    ...(q('channel') === undefined ? {} : { channel: q('channel') }),
    ...(state === undefined ? {} : { state }),
    ...(q('q') === undefined ? {} : { text: q('q') }),
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(toMs === undefined ? {} : { toMs }),
  };
  const found = filterSessions(listed, filter);
  const pages = Math.max(1, Math.ceil(found.length / PER_PAGE));
  const shown = found.slice((pageNumber - 1) * PER_PAGE, pageNumber * PER_PAGE);
  const choices = filterChoices(listed, readable);
  const query: Record<string, string | undefined> = {
    host: q('host'),
    agent: q('agent'),
    model: q('model'),
    channel: q('channel'),
    state,
    q: q('q'),
    from: q('from'),
    to: q('to'),
    sort,
  };
  const select = (name: string, label: string, values: readonly string[], all: string) =>
    selectField({ name, label, values, current: query[name], all });

  const body = html`<h1>Sessions</h1>
    <form class="filters" method="get" action="/sessions" data-live role="search">
      ${select('host', 'Host', choices.hosts, 'All hosts')}
      ${select('agent', 'Agent', choices.agents, 'All agents')}
      ${select('model', 'Model', choices.models, 'Any model')}
      ${select('channel', 'Channel', choices.channels, 'Any channel')}
      ${select('state', 'State', SESSION_STATES, 'Any state')}
      <label>From <input type="date" name="from" value="${query['from'] ?? ''}" /></label>
      <label>To <input type="date" name="to" value="${query['to'] ?? ''}" /></label>
      <label>Title has <input type="search" name="q" value="${query['q'] ?? ''}" /></label>
      ${select('sort', 'Sort by', SESSION_SORTS, 'activity')}
      <button type="submit">Filter</button>
    </form>
    <div id="results">
      <p class="muted" role="status">
        ${count(found.length)} session${found.length === 1 ? '' : 's'}; page ${pageNumber} of
        ${pages}. As stored at ${new Date(atMs).toISOString().slice(11, 19)} UTC.
      </p>
      <table>
        ${tableHead(SESSION_COLUMNS)}
        <tbody>
          ${
            shown.length === 0
              ? emptyRow(
                  SESSION_COLUMNS.length,
                  sessions.length === 0
                    ? 'No sessions stored yet: once a worker backs up its first transcript, it shows here.'
                    : 'No session matches these filters.',
                )
              : shown.map(sessionRow)
          }
        </tbody>
      </table>
      ${pager(query, pageNumber, pages)}
    </div>`;
  return layout({ title: 'Sessions', viewer, current: '/sessions', body });
}

function sessionRow(s: CatalogSession): Html {
  return html`<tr>
    <td class="title-cell">
      <a href="${sessionHref(s)}">${s.title ?? html`<span class="muted">${s.sessionId}</span>`}</a>
    </td>
    <td>${s.hostId} / ${s.agentId}</td>
    <td>${when(s.startedAt)}</td>
    <td>${when(s.activityAt)}</td>
    <td class="num">${count(s.messages)}</td>
    <td class="num">${count(s.toolCalls)}</td>
    <td class="num">${compact(s.tokens)}</td>
    <td class="num">${usd(s.costUsd)}</td>
    <td class="num">${bytes(s.storedBytes)}</td>
    <td><span class="badge ${s.state}">${s.state}</span></td>
  </tr>`;
}

function pager(query: Record<string, string | undefined>, pageNumber: number, pages: number): Html {
  return html`<nav class="pager" aria-label="Pages">
    ${
      pageNumber > 1
        ? html`<a href="${hrefWith('/sessions', { ...query, page: String(pageNumber - 1) })}"
            >← Previous</a
          >`
        : ''
    }
    ${
      pageNumber < pages
        ? html`<a href="${hrefWith('/sessions', { ...query, page: String(pageNumber + 1) })}"
            >Next →</a
          >`
        : ''
    }
  </nav>`;
}

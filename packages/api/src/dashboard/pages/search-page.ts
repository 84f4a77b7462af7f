import { html, raw } from 'hono/html';
import { canRead } from '../../auth/access.ts';
import type { PageContext } from '../dashboard-routes.ts';
import { ApiAnswerError } from '../internal-api.ts';
import { hrefWith, layout, selectField, when, type Html } from '../page.ts';
import { filterChoices } from '../session-catalog.ts';

interface SearchResult {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly role: string;
  readonly time: string | null;
  readonly snippet: { readonly text: string; readonly marks: readonly [number, number][] };
  readonly permalink: string;
}

interface SearchAnswer {
  readonly results: readonly SearchResult[];
  readonly syntax: string;
  readonly order: 'relevance' | 'newest';
  readonly indexing: { readonly pending: number };
}

const ROLE_CHOICES: Readonly<Record<string, string>> = {
  '': 'User and assistant',
  all: 'Also tool calls and results',
  user: 'User only',
  assistant: 'Assistant only',
  tool: 'Tools only',
};

/**
 * Full-text search over the transcripts the key may read (the API's `/v1/search`): a form, then
 * the best matches, each a masked snippet with the words marked and a link to that message.
 */
export async function searchPage({ c, viewer, api, catalog }: PageContext): Promise<Html> {
  const q = (name: string) => {
    const value = c.req.query(name);
    return value === undefined || value === '' ? undefined : value;
  };
  const query = {
    q: q('q'),
    host: q('host'),
    agent: q('agent'),
    role: q('role'),
    from: q('from'),
    to: q('to'),
  };
  const listed = await catalog.sessions();
  const choices = filterChoices(listed, (hostId) => canRead(viewer.principal, hostId));
  // Each result is named by its session's title (masked, as the catalog keeps them).
  const titles = new Map(
    listed.sessions.map((s) => [`${s.hostId}/${s.agentId}/${s.sessionId}`, s.title]),
  );
  let answer: SearchAnswer | undefined;
  let problem: string | undefined;
  if (query.q !== undefined) {
    const params = {
      q: query.q,
      hostId: query.host,
      agentId: query.agent,
      from: query.from,
      to: query.to,
      ...(query.role === 'all' ? { tools: '1' } : { role: query.role }),
      limit: '50',
    };
    try {
      answer = await api.get<SearchAnswer>(viewer.principal, hrefWith('/v1/search', params));
    } catch (error) {
      // No index here (501), or Azure AI Search unreachable or refusing the key (503): the page
      // says so, with what to check.
      if (
        !(error instanceof ApiAnswerError) ||
        (error.status >= 500 && error.status !== 501 && error.status !== 503)
      )
        throw error;
      problem = error.message;
    }
  }
  const body = html`<h1>Search</h1>
    <form class="filters" method="get" action="/search" role="search">
      <label class="grow"
        >Words <input type="search" name="q" value="${query.q ?? ''}" autofocus required
      /></label>
      ${selectField({ name: 'host', label: 'Host', values: choices.hosts, current: query.host, all: 'All hosts' })}
      ${selectField({ name: 'agent', label: 'Agent', values: choices.agents, current: query.agent, all: 'All agents' })}
      <label
        >Messages
        <select name="role">
          ${Object.entries(ROLE_CHOICES).map(
            ([value, label]) =>
              html`<option value="${value}" ${(query.role ?? '') === value ? raw('selected') : ''}>
                ${label}
              </option>`,
          )}
        </select></label
      >
      <label>From <input type="date" name="from" value="${query.from ?? ''}" /></label>
      <label>To <input type="date" name="to" value="${query.to ?? ''}" /></label>
      <button type="submit">Search</button>
    </form>
    <p class="muted">
      All words must appear (case and accents ignored); "a phrase" in quotes; prefix* with a star.
      Chinese, Japanese and Korean words are found inside longer text. Secrets are masked.
    </p>
    ${problem === undefined ? '' : html`<p class="error" role="alert">${problem}</p>`}
    ${answer === undefined ? '' : results(answer, titles)}`;
  return layout({
    title: query.q === undefined ? 'Search' : `Search: ${query.q}`,
    viewer,
    current: '/search',
    body,
  });
}

function results(answer: SearchAnswer, titles: ReadonlyMap<string, string | null>): Html {
  return html`<p class="muted" role="status">
      ${
        answer.results.length === 0
          ? 'No message matches.'
          : answer.order === 'relevance'
            ? `${answer.results.length} best match${answer.results.length === 1 ? '' : 'es'}, best first.`
            : `${answer.results.length} newest matches: so many messages match that the newest come first; more words narrow it.`
      }
      ${
        answer.indexing.pending > 0
          ? ` ${answer.indexing.pending} stored generation${answer.indexing.pending === 1 ? ' is' : 's are'} still being indexed.`
          : ''
      }
    </p>
    <ol class="search-results">
      ${answer.results.map(
        (r) =>
          html`<li class="card">
            <div>
              <strong
                >${titles.get(`${r.hostId}/${r.agentId}/${r.sessionId}`) ?? r.sessionId}</strong
              >
            </div>
            <div class="muted">${r.hostId} / ${r.agentId} · ${r.role} · ${when(r.time)}</div>
            <p class="snippet">${marked(r.snippet)}</p>
            <a href="${r.permalink}">Open this message</a>
          </li>`,
      )}
    </ol>`;
}

/** The snippet, escaped, with its marks as `<mark>`. */
function marked(snippet: SearchResult['snippet']): Html {
  const parts: Html[] = [];
  let at = 0;
  for (const [from, to] of snippet.marks) {
    parts.push(html`${snippet.text.slice(at, from)}<mark>${snippet.text.slice(from, to)}</mark>`);
    at = to;
  }
  return html`${parts}${snippet.text.slice(at)}`;
}

import { NotImplementedError, ValidationError, validateHostId, validateId } from '@nexus/core';
import { authorize } from '../../auth/access.ts';
import type { Principal } from '../../auth/principal.ts';
import type { SecretMasker } from '../../content/secret-mask.ts';
import { entryHref } from '../../dashboard/links.ts';
import { SEARCH_ROLES, type SearchRole } from '../../search/search-docs.ts';
import type { SearchIndexer } from '../../search/search-indexer.ts';
import { QUERY_SYNTAX, parseQuery } from '../../search/search-text.ts';
import { snippetOf } from '../../search/snippet.ts';
import type { SearchFilters } from '../../search/search-index.ts';
import type { NexusApp, NexusContext } from '../app-env.ts';
import { checkRange, parseLimit, parseTime } from '../query-params.ts';
import { route } from '../route-table.ts';

export interface SearchRouteDeps {
  /** Absent where this deployment has no search index (Azure storage without Azure AI Search). */
  readonly search: SearchIndexer | undefined;
  readonly masker: SecretMasker;
}

const NO_INDEX =
  "Search needs an index, and this server has none. On embedded storage the API keeps one in its data folder (SQLite FTS5) unless NEXUS_SEARCH=off: remove that setting and restart. On Azure storage search needs Azure AI Search: set NEXUS_SEARCH_ENDPOINT (https://<service>.search.windows.net) and NEXUS_SEARCH_KEY (an admin key), or grant the app's identity the Search Index Data Contributor and Search Service Contributor roles instead of a key; see docs/DEPLOY-AZURE.md (Search).";

/**
 * Full-text search over every stored transcript a key may read: `GET /v1/search?q=`, the index's
 * state, and its rebuild from storage (admin).
 */
export function searchRoutes(app: NexusApp, deps: SearchRouteDeps): void {
  const indexer = () => {
    if (deps.search === undefined) throw new NotImplementedError('search_not_available', NO_INDEX);
    return deps.search;
  };

  route(app, '/v1/search', {
    GET: async (c) => {
      // Any key may search: what it finds is limited to the hosts it may read.
      const principal = c.get('principal');
      const search = indexer();
      const q = c.req.query('q');
      if (q === undefined || q.trim() === '')
        throw new ValidationError(
          'invalid_query',
          `q is the text to look for. Syntax: ${QUERY_SYNTAX}; e.g. /v1/search?q=backup%20"disk%20full".`,
        );
      const query = parseQuery(q);
      const filters = searchFilters(c, principal);
      const limit = parseLimit(c.req.query('limit'), 20, 100);
      const [answer, pending] = await Promise.all([
        search.search(query, filters, limit),
        search.pendingCount(),
      ]);
      return c.json({
        query: q,
        syntax: QUERY_SYNTAX,
        results: answer.hits.map((hit) => ({
          hostId: hit.hostId,
          agentId: hit.agentId,
          sessionId: hit.sessionId,
          generation: hit.sha256,
          entry: hit.entry,
          line: hit.line + 1,
          role: hit.role,
          time: hit.timeMs > 0 ? new Date(hit.timeMs).toISOString() : null,
          snippet: snippetOf(deps.masker.mask(hit.text), query.terms),
          permalink: entryHref(hit, hit.sha256, {
            id: hit.entry.startsWith('~') ? undefined : hit.entry,
            line: hit.line,
          }),
        })),
        order: answer.capped ? 'newest' : 'relevance',
        indexing: { pending },
      });
    },
  });

  route(app, '/v1/search/status', {
    GET: async (c) => c.json(await indexer().status()),
  });

  route(app, '/v1/search/rebuild', {
    POST: async (c) => {
      authorize(c.get('principal'), { kind: 'manage', what: 'rebuilds the search index' });
      const search = indexer();
      // Done in the background (on Azure Functions by the timer); `GET /v1/search/status` follows it.
      await search.requestRebuild();
      return c.json({ status: 'rebuilding', ...(await search.status()) }, 202);
    },
  });
}

function searchFilters(c: NexusContext, principal: Principal): SearchFilters {
  const host = c.req.query('hostId');
  const agent = c.req.query('agentId');
  const session = c.req.query('sessionId');
  let hosts: readonly string[] | undefined;
  if (host !== undefined && host !== '') {
    const hostId = validateHostId(host);
    authorize(principal, { kind: 'read', hostId, what: `searches host ${hostId}` });
    hosts = [hostId];
  } else if (principal.role === 'reader' && principal.hosts !== 'all') hosts = principal.hosts;
  else if (principal.role === 'worker') hosts = [principal.hostId];
  const fromMs = parseTime('from', c.req.query('from'));
  const toMs = parseTime('to', c.req.query('to'));
  checkRange('from', fromMs, 'to', toMs);
  return {
    ...(hosts === undefined ? {} : { hosts }),
    ...(agent === undefined || agent === '' ? {} : { agentId: validateId('agent id', agent) }),
    ...(session === undefined || session === ''
      ? {}
      : { sessionId: validateId('session id', session) }),
    roles: rolesOf(c.req.query('role'), c.req.query('tools')),
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(toMs === undefined ? {} : { toMs }),
  };
}

/** `role=user,assistant` (any of user, assistant, tool); else user and assistant, tools with `tools=1`. */
function rolesOf(role: string | undefined, tools: string | undefined): SearchRole[] {
  if (role !== undefined && role !== '') {
    const roles = role.split(',').map((r) => r.trim());
    const wrong = roles.filter((r) => !(SEARCH_ROLES as readonly string[]).includes(r));
    if (wrong.length > 0)
      throw new ValidationError(
        'invalid_role',
        `role must be a comma-separated list of user, assistant and tool; got ${JSON.stringify(wrong.join(',').slice(0, 60))}.`,
      );
    return roles as SearchRole[];
  }
  if (tools === undefined || tools === '' || /^(0|false|no)$/i.test(tools))
    return ['user', 'assistant'];
  if (/^(1|true|yes)$/i.test(tools)) return ['user', 'assistant', 'tool'];
  throw new ValidationError(
    'invalid_query',
    `tools must be 1 or 0; got ${JSON.stringify(tools.slice(0, 40))}.`,
  );
}

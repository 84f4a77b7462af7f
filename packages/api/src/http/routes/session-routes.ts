import {
  NotFoundError,
  validateHostId,
  validateId,
  type AgentScope,
  type Storage,
} from '@nexus/core';
import { authorize, canRead } from '../../auth/access.ts';
import {
  getSession,
  listAgents,
  listSessions,
  usageSummary,
} from '../../transcripts/session-queries.ts';
import type { SecretMasker } from '../../content/secret-mask.ts';
import { sessionBundle } from '../../transcripts/session-bundle.ts';
import { usageReport } from '../../transcripts/usage-report.ts';
import type { NexusApp, NexusContext } from '../app-env.ts';
import { checkRange, parseDay, parseLimit, parseTime } from '../query-params.ts';
import { route } from '../route-table.ts';
import { authorizedScope, hostParam, scopeParam } from '../scope-params.ts';
import type { SearchIndexer } from '../../search/search-indexer.ts';
import { deleteSession, type DeletedSession } from '../../transcripts/delete-session.ts';

export interface SessionRouteDeps {
  readonly storage: Storage;
  readonly defaultHostId: string;
  /** Titles are the first user message: masked like everything else shown. */
  readonly masker: SecretMasker;
  /** The search index, which forgets a deleted session. */
  readonly search: SearchIndexer | undefined;
  /** Told after a session is deleted (the dashboard's list forgets it). */
  readonly onDeleted: (scope: AgentScope) => void;
}

/**
 * The read API: a host's agents, sessions newest first, one session with its generations (and
 * its deletion, admin only), usage per agent and across hosts. Each under `/v1/hosts/{host}/agents/{agent}/...`, and, deprecated,
 * under `/v1/agents/{agent}/...` for the default host.
 */
export function sessionRoutes(app: NexusApp, deps: SessionRouteDeps): void {
  const { storage, defaultHostId, masker } = deps;
  const masked = <T extends { title?: string | null }>(session: T): T =>
    typeof session.title === 'string' ? { ...session, title: masker.mask(session.title) } : session;
  const readable = (c: NexusContext, what: string) =>
    authorizedScope(c, defaultHostId, 'read', () => what);

  const agents = async (c: NexusContext) => {
    const hostId = hostParam(c, defaultHostId);
    authorize(c.get('principal'), { kind: 'read', hostId, what: `lists host ${hostId}'s agents` });
    return c.json({ agents: await listAgents(storage, hostId) });
  };
  const sessions = async (c: NexusContext) => {
    const scope = readable(c, 'lists sessions');
    const fromMs = parseTime('from', c.req.query('from'));
    const toMs = parseTime('to', c.req.query('to'));
    checkRange('from', fromMs, 'to', toMs);
    const cursor = c.req.query('cursor');
    const page = await listSessions(storage, scope, {
      limit: parseLimit(c.req.query('limit'), 50, 1000),
      ...(fromMs === undefined ? {} : { fromMs }),
      ...(toMs === undefined ? {} : { toMs }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    return c.json({ ...page, sessions: page.sessions.map(masked) });
  };
  const session = async (c: NexusContext) => {
    const found = await getSession(
      storage,
      readable(c, 'reads a session'),
      c.req.param('sessionId') ?? '',
    );
    return c.json({ ...found, session: masked(found.session) });
  };
  const remove = async (c: NexusContext) => {
    const scope = scopeParam(c, defaultHostId);
    const sessionId = validateId('session id', c.req.param('sessionId') ?? '');
    authorize(c.get('principal'), {
      kind: 'manage',
      what: `deletes session ${sessionId} of agent ${scope.agentId} of host ${scope.hostId}`,
    });
    const session = { ...scope, sessionId };
    // Out of the index first (a failure there deletes nothing), then from storage, then out of
    // the index again: a generation being indexed meanwhile may have added to it.
    let messages = (await deps.search?.removeSession(session)) ?? 0;
    let deleted: DeletedSession = { generations: 0, blobs: 0, bytes: 0 };
    try {
      deleted = await deleteSession(storage, scope, sessionId);
    } catch (error) {
      // Deleted from storage already (a deletion cut short): what the index held is gone now.
      if (!(error instanceof NotFoundError && messages > 0)) throw error;
    }
    messages += (await deps.search?.removeSession(session)) ?? 0;
    deps.onDeleted(scope);
    return c.json({ deleted: { ...session, ...deleted, indexedMessages: messages } });
  };
  const usage = async (c: NexusContext) => {
    const scope = readable(c, 'reads usage');
    return c.json(await usageSummary(storage, scope, dayRange(c)));
  };

  // Every session's latest transcript as one tar file: a restore's download.
  route(app, '/v1/hosts/:hostId/agents/:agentId/bundle', {
    GET: (c) => {
      const scope = readable(c, 'downloads transcripts');
      const fromMs = parseTime('from', c.req.query('from'));
      const toMs = parseTime('to', c.req.query('to'));
      checkRange('from', fromMs, 'to', toMs);
      const chunks = sessionBundle(storage, scope, {
        ...(fromMs === undefined ? {} : { fromMs }),
        ...(toMs === undefined ? {} : { toMs }),
      });
      return new Response(ReadableStream.from(chunks), {
        headers: {
          'content-type': 'application/x-tar',
          'content-disposition': `attachment; filename="${scope.hostId}-${scope.agentId}.tar"`,
        },
      });
    },
  });

  for (const base of ['/v1/hosts/:hostId', '/v1']) {
    route(app, `${base}/agents`, { GET: agents });
    route(app, `${base}/agents/:agentId/sessions`, { GET: sessions });
    route(app, `${base}/agents/:agentId/sessions/:sessionId`, { GET: session, DELETE: remove });
    route(app, `${base}/agents/:agentId/usage`, { GET: usage });
  }

  route(app, '/v1/usage', {
    GET: async (c) => {
      const principal = c.get('principal');
      authorize(principal, { kind: 'browse', what: 'reads usage across hosts' });
      const hostQuery = c.req.query('hostId');
      const hostFilter = hostQuery === undefined ? undefined : validateHostId(hostQuery);
      if (hostFilter !== undefined)
        authorize(principal, { kind: 'read', hostId: hostFilter, what: 'reads usage' });
      const report = await usageReport(storage, dayRange(c), (hostId) =>
        hostFilter === undefined ? canRead(principal, hostId) : hostId === hostFilter,
      );
      return c.json(report);
    },
  });
}

function dayRange(c: NexusContext): { fromDay?: string; toDay?: string } {
  const fromDay = parseDay('from', c.req.query('from'));
  const toDay = parseDay('to', c.req.query('to'));
  checkRange('from', fromDay, 'to', toDay);
  return {
    ...(fromDay === undefined ? {} : { fromDay }),
    ...(toDay === undefined ? {} : { toDay }),
  };
}

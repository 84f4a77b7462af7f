import type { Hono } from 'hono';
import type { Storage } from '@nexus/core';
import {
  getSession,
  listAgents,
  listSessions,
  usageSummary,
} from '../../transcripts/session-queries.ts';
import { checkRange, parseDay, parseLimit, parseTime } from '../query-params.ts';
import { route } from '../route-table.ts';

/** The owner's read API: agents, sessions newest first, one session with its generations, usage. */
export function sessionRoutes(app: Hono, deps: { storage: Storage }): void {
  const { storage } = deps;
  route(app, '/v1/agents', {
    GET: async (c) => c.json({ agents: await listAgents(storage) }),
  });
  route(app, '/v1/agents/:agentId/sessions', {
    GET: async (c) => {
      const fromMs = parseTime('from', c.req.query('from'));
      const toMs = parseTime('to', c.req.query('to'));
      checkRange('from', fromMs, 'to', toMs);
      const cursor = c.req.query('cursor');
      const page = await listSessions(storage, c.req.param('agentId') ?? '', {
        limit: parseLimit(c.req.query('limit'), 50, 1000),
        ...(fromMs === undefined ? {} : { fromMs }),
        ...(toMs === undefined ? {} : { toMs }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return c.json(page);
    },
  });
  route(app, '/v1/agents/:agentId/sessions/:sessionId', {
    GET: async (c) =>
      c.json(
        await getSession(storage, c.req.param('agentId') ?? '', c.req.param('sessionId') ?? ''),
      ),
  });
  route(app, '/v1/agents/:agentId/usage', {
    GET: async (c) => {
      const fromDay = parseDay('from', c.req.query('from'));
      const toDay = parseDay('to', c.req.query('to'));
      checkRange('from', fromDay, 'to', toDay);
      return c.json(
        await usageSummary(storage, c.req.param('agentId') ?? '', {
          ...(fromDay === undefined ? {} : { fromDay }),
          ...(toDay === undefined ? {} : { toDay }),
        }),
      );
    },
  });
}

import { z } from 'zod';
import { ForbiddenError, validateHostId, type Storage } from '@nexus/core';
import { authorize, canAct, canRead } from '../../auth/access.ts';
import { describePrincipal } from '../../auth/principal.ts';
import {
  MAX_HOST_NAME_LENGTH,
  announceHost,
  listHostRows,
  requireHost,
  type HostRow,
} from '../../hosts/host-rows.ts';
import { listAgents, type AgentInfo } from '../../transcripts/session-queries.ts';
import type { NexusApp } from '../app-env.ts';
import { readJsonAs } from '../json-body.ts';
import { route } from '../route-table.ts';

export interface HostRouteDeps {
  readonly storage: Storage;
  readonly now: () => Date;
}

/** A host as `GET /v1/hosts` shows it. */
export interface HostView extends HostRow {
  readonly lastUploadAt: string | null;
  readonly agents: readonly { readonly agentId: string; readonly lastReceivedAt: string }[];
}

const announceSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(MAX_HOST_NAME_LENGTH)
      // eslint-disable-next-line no-control-regex -- control characters are what is refused here
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be printable')
      .optional(),
    workerVersion: z
      .string()
      .regex(/^[0-9A-Za-z.+-]{1,40}$/, 'must be a version such as 0.3.0')
      .optional(),
  })
  .strict();

/** The hosts Nexus serves: list, one, and a worker announcing its host at start. */
export function hostRoutes(app: NexusApp, deps: HostRouteDeps): void {
  const { storage } = deps;

  route(app, '/v1/hosts', {
    GET: async (c) => {
      const principal = c.get('principal');
      const visible = (hostId: string) => canRead(principal, hostId) || canAct(principal, hostId);
      const [hosts, agents] = await Promise.all([listHostRows(storage), listAgents(storage)]);
      return c.json({
        hosts: hosts.filter((host) => visible(host.hostId)).map((host) => viewOf(host, agents)),
      });
    },
  });

  route(app, '/v1/hosts/:hostId', {
    GET: async (c) => {
      const hostId = validateHostId(c.req.param('hostId') ?? '');
      const principal = c.get('principal');
      if (!canRead(principal, hostId) && !canAct(principal, hostId))
        throw new ForbiddenError(
          'forbidden_for_key',
          `This request reads host ${hostId}, which needs an admin key, a reader key of host ${hostId} or its worker key; it was sent with ${describePrincipal(principal)}.`,
        );
      const [host, agents] = await Promise.all([
        requireHost(storage, hostId),
        listAgents(storage, hostId),
      ]);
      return c.json(viewOf(host, agents));
    },
    PUT: async (c) => {
      const hostId = validateHostId(c.req.param('hostId') ?? '');
      authorize(c.get('principal'), {
        kind: 'act',
        hostId,
        what: `announces host ${hostId}`,
      });
      const said = await readJsonAs(c, announceSchema, 'invalid_host');
      const host = await announceHost(
        storage,
        hostId,
        {
          ...(said.name === undefined ? {} : { name: said.name }),
          ...(said.workerVersion === undefined ? {} : { workerVersion: said.workerVersion }),
        },
        deps.now(),
      );
      return c.json(viewOf(host, await listAgents(storage, hostId)));
    },
  });
}

function viewOf(host: HostRow, agents: readonly AgentInfo[]): HostView {
  const mine = agents
    .filter((agent) => agent.hostId === host.hostId)
    .map(({ agentId, lastReceivedAt }) => ({ agentId, lastReceivedAt }));
  const lastUploadAt =
    mine
      .map((agent) => agent.lastReceivedAt)
      .sort()
      .at(-1) ?? null;
  return { ...host, lastUploadAt, agents: mine };
}

import type { Storage } from '@nexus/core';
import { authorize } from '../../auth/access.ts';
import { StateBackups } from '../../state/state-backups.ts';
import type { NexusApp, NexusContext } from '../app-env.ts';
import { route } from '../route-table.ts';
import { hostParam } from '../scope-params.ts';
import { parseContentLength, streamOf } from './request-body.ts';

export interface StateBackupRouteDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly maxStateBackupBytes: number;
  readonly defaultHostId: string;
}

/**
 * A host's encrypted OpenClaw state archives: the host's worker stores, lists, reads and removes
 * them (retention is its schedule); an admin may do all of it, a reader of the host may read.
 */
export function stateBackupRoutes(app: NexusApp, deps: StateBackupRouteDeps): void {
  const backups = new StateBackups(deps.storage, deps.maxStateBackupBytes, deps.now);
  const host = (c: NexusContext, kind: 'read' | 'act', what: string) => {
    const hostId = hostParam(c, deps.defaultHostId);
    authorize(c.get('principal'), { kind, hostId, what: `${what} of host ${hostId}` });
    return hostId;
  };
  route(app, '/v1/hosts/:hostId/state-backups', {
    GET: async (c) => {
      const hostId = host(c, 'read', 'lists the state backups');
      return c.json({ hostId, backups: await backups.list(hostId) });
    },
  });
  route(app, '/v1/hosts/:hostId/state-backups/:name', {
    PUT: async (c) => {
      const hostId = host(c, 'act', 'stores a state backup');
      const { created, info } = await backups.put(
        hostId,
        c.req.param('name') ?? '',
        streamOf(c),
        parseContentLength(c.req.header('content-length')),
      );
      return c.json(
        { status: created ? 'created' : 'already_present', backup: info },
        created ? 201 : 200,
      );
    },
    GET: async (c) => {
      const hostId = host(c, 'read', 'downloads a state backup');
      const { bytes, body } = await backups.open(hostId, c.req.param('name') ?? '');
      return new Response(ReadableStream.from(body), {
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(bytes),
          'content-disposition': `attachment; filename="${c.req.param('name') ?? 'backup.age'}"`,
        },
      });
    },
    DELETE: async (c) => {
      const hostId = host(c, 'act', 'removes a state backup');
      await backups.remove(hostId, c.req.param('name') ?? '');
      return c.body(null, 204);
    },
  });
}

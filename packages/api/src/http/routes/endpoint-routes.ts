import {
  AlreadyExistsError,
  NotFoundError,
  ValidationError,
  validateId,
  type Storage,
} from '@nexus/core';
import { authorize, canRead } from '../../auth/access.ts';
import { listHostRows } from '../../hosts/host-rows.ts';
import type { NexusApp } from '../app-env.ts';
import { readJsonAs } from '../json-body.ts';
import { route } from '../route-table.ts';
import {
  ENDPOINTS_PARTITION,
  createEndpointSchema,
  endpointEntity,
  endpointFromEntity,
  newEndpoint,
  publicEndpoint,
} from '../../webhooks/endpoint.ts';
import type { EndpointCache } from '../../webhooks/endpoint-cache.ts';
import type { WebhookQueue } from '../../webhooks/webhook-queue.ts';
import { applyEndpointPatch, endpointPatchSchema } from '../../webhooks/endpoint-patch.ts';

export interface EndpointRouteDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly endpoints: EndpointCache;
  readonly queue: WebhookQueue;
  readonly defaultHostId: string;
}

/**
 * Webhook endpoint management: admins create, change and delete; readers see the endpoints of
 * their hosts (secrets masked, as for everyone after creation).
 */
export function endpointRoutes(app: NexusApp, deps: EndpointRouteDeps): void {
  const { storage, endpoints } = deps;
  const load = async (id: string) => {
    const row = await storage.tables.get(
      'endpoints',
      ENDPOINTS_PARTITION,
      validateId('endpoint id', id),
    );
    if (!row) throw new NotFoundError(`There is no webhook endpoint ${id}.`, 'endpoint_not_found');
    return { row, endpoint: endpointFromEntity(row) };
  };

  route(app, '/v1/endpoints', {
    GET: async (c) => {
      const principal = c.get('principal');
      authorize(principal, { kind: 'browse', what: 'lists webhook endpoints' });
      const page = await storage.tables.query('endpoints', ENDPOINTS_PARTITION);
      return c.json({
        endpoints: page.items
          .map((row) => endpointFromEntity(row))
          .filter((endpoint) => canRead(principal, endpoint.hostId))
          .map(publicEndpoint),
      });
    },
    POST: async (c) => {
      authorize(c.get('principal'), { kind: 'manage', what: 'creates a webhook endpoint' });
      const input = await readJsonAs(c, createEndpointSchema, 'invalid_endpoint');
      const hostId = input.hostId ?? (await onlyHost(storage, deps.defaultHostId));
      const endpoint = newEndpoint({ ...input, hostId }, deps.now());
      endpoints.invalidate(endpoint.id);
      try {
        await storage.tables.insert('endpoints', endpointEntity(endpoint));
      } catch (error) {
        if (error instanceof AlreadyExistsError)
          throw new AlreadyExistsError(
            `Endpoint ${endpoint.id} exists already; choose another id.`,
          );
        throw error;
      }
      // The only time the secrets are shown: paste them into the sender now.
      return c.json(
        {
          ...publicEndpoint(endpoint),
          secrets: endpoint.secrets,
          ...(endpoint.verifyToken === undefined ? {} : { verifyToken: endpoint.verifyToken }),
        },
        201,
      );
    },
  });

  route(app, '/v1/endpoints/:endpointId', {
    GET: async (c) => {
      const { endpoint } = await load(c.req.param('endpointId') ?? '');
      authorize(c.get('principal'), {
        kind: 'read',
        hostId: endpoint.hostId,
        what: `reads an endpoint of host ${endpoint.hostId}`,
      });
      return c.json(publicEndpoint(endpoint));
    },
    PATCH: async (c) => {
      authorize(c.get('principal'), { kind: 'manage', what: 'changes a webhook endpoint' });
      const patch = await readJsonAs(c, endpointPatchSchema, 'invalid_patch');
      const { row, endpoint } = await load(c.req.param('endpointId') ?? '');
      const { endpoint: updated, addedSecret } = applyEndpointPatch(endpoint, patch);
      await storage.tables.update('endpoints', endpointEntity(updated), row.etag);
      endpoints.invalidate(endpoint.id);
      // Resumed: what was kept goes back in the queue now (what a large backlog leaves after a
      // few seconds, the queue's periodic check moves within a minute).
      const resumed =
        endpoint.paused === true && updated.paused !== true
          ? await deps.queue.resume(updated, updated.id)
          : undefined;
      return c.json({
        ...publicEndpoint(updated),
        ...(addedSecret === undefined ? {} : { addedSecret }),
        ...(resumed === undefined ? {} : { resumed: resumed.resumed, resumeDone: resumed.done }),
      });
    },
    DELETE: async (c) => {
      authorize(c.get('principal'), { kind: 'manage', what: 'deletes a webhook endpoint' });
      const { row, endpoint } = await load(c.req.param('endpointId') ?? '');
      await storage.tables.delete('endpoints', ENDPOINTS_PARTITION, endpoint.id, row.etag);
      endpoints.invalidate(endpoint.id);
      return c.body(null, 204);
    },
  });
}

/**
 * The host of an endpoint created without one: the only host there is (the usual single
 * machine), the default host when none is known yet; with several, the caller must say which.
 */
async function onlyHost(storage: Storage, defaultHostId: string): Promise<string> {
  const hosts = await listHostRows(storage);
  const [only] = hosts;
  if (hosts.length === 0) return defaultHostId;
  if (hosts.length === 1 && only) return only.hostId;
  throw new ValidationError(
    'missing_host_id',
    `This Nexus serves several hosts (${hosts.map((host) => host.hostId).join(', ')}); say which one's worker delivers this endpoint's webhooks: "hostId".`,
  );
}

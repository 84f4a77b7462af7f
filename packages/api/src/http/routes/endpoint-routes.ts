import type { Hono } from 'hono';
import { AlreadyExistsError, NotFoundError, validateId, type Storage } from '@nexus/core';
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
import { applyEndpointPatch, endpointPatchSchema } from '../../webhooks/endpoint-patch.ts';

export interface EndpointRouteDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly endpoints: EndpointCache;
}

/** Webhook endpoint management, for the owner (behind the API key). */
export function endpointRoutes(app: Hono, deps: EndpointRouteDeps): void {
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
      const page = await storage.tables.query('endpoints', ENDPOINTS_PARTITION);
      return c.json({
        endpoints: page.items.map((row) => publicEndpoint(endpointFromEntity(row))),
      });
    },
    POST: async (c) => {
      const input = await readJsonAs(c, createEndpointSchema, 'invalid_endpoint');
      const endpoint = newEndpoint(input, deps.now());
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
      return c.json({ ...publicEndpoint(endpoint), secrets: endpoint.secrets }, 201);
    },
  });

  route(app, '/v1/endpoints/:endpointId', {
    GET: async (c) =>
      c.json(publicEndpoint((await load(c.req.param('endpointId') ?? '')).endpoint)),
    PATCH: async (c) => {
      const patch = await readJsonAs(c, endpointPatchSchema, 'invalid_patch');
      const { row, endpoint } = await load(c.req.param('endpointId') ?? '');
      const { endpoint: updated, addedSecret } = applyEndpointPatch(endpoint, patch);
      await storage.tables.update('endpoints', endpointEntity(updated), row.etag);
      endpoints.invalidate(endpoint.id);
      return c.json({
        ...publicEndpoint(updated),
        ...(addedSecret === undefined ? {} : { addedSecret }),
      });
    },
    DELETE: async (c) => {
      const { row, endpoint } = await load(c.req.param('endpointId') ?? '');
      await storage.tables.delete('endpoints', ENDPOINTS_PARTITION, endpoint.id, row.etag);
      endpoints.invalidate(endpoint.id);
      return c.body(null, 204);
    },
  });
}

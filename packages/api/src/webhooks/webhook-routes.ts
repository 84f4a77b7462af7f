import type { Hono } from 'hono';
import {
  AlreadyExistsError,
  NotFoundError,
  ValidationError,
  describeIssue,
  validateId,
  type Storage,
} from '@nexus/core';
import { z } from 'zod';
import { readJsonBody } from '../http/json-body.ts';
import { route } from '../http/route-table.ts';
import {
  ENDPOINTS_PARTITION,
  MAX_SECRETS,
  createEndpointSchema,
  secretSchema,
  endpointEntity,
  endpointFromEntity,
  generateSecret,
  newEndpoint,
  publicEndpoint,
} from './endpoint.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import { ingestWebhook } from './ingest-webhook.ts';
import { ReadBudget } from './read-budget.ts';
import type { WebhookQueue } from './webhook-queue.ts';

export interface WebhookRouteDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly maxWebhookBytes: number;
  readonly queue: WebhookQueue;
  readonly endpoints: EndpointCache;
  /** A delivery's body must arrive within this. */
  readonly readTimeoutMs: number;
}

/** Webhook bodies read at once on `/hooks`: two of the largest, or 64 MiB. */
function readBudgetBytes(maxWebhookBytes: number): number {
  return Math.max(2 * maxWebhookBytes, 64 * 1024 * 1024);
}

const patchSchema = z
  .object({
    enabled: z.boolean().optional(),
    /** `true` generates a secret; a string adds that one. The old ones stay valid (rotation). */
    addSecret: z.union([z.literal(true), secretSchema]).optional(),
    /** Removes the secret ending in these characters (as the read API shows them). */
    removeSecret: z.string().min(4).optional(),
    /** A new message template; `null` goes back to the provider's default summary. */
    template: z.string().max(4000).nullable().optional(),
  })
  .strict();

/**
 * Endpoint management (owner, bearer key) and the public delivery URL `/hooks/{endpointId}`,
 * which senders call without a key: their signature is the authentication.
 */
export function webhookRoutes(app: Hono, deps: WebhookRouteDeps): void {
  const { storage } = deps;
  const { endpoints } = deps;
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
      const parsed = createEndpointSchema.safeParse(await readJsonBody(c));
      if (!parsed.success) {
        throw new ValidationError(
          'invalid_endpoint',
          parsed.error.issues.map((issue) => describeIssue(issue, { whole: 'body' })).join('; '),
        );
      }
      const endpoint = newEndpoint(parsed.data, deps.now());
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
      const parsed = patchSchema.safeParse(await readJsonBody(c));
      if (!parsed.success)
        throw new ValidationError(
          'invalid_patch',
          parsed.error.issues.map((issue) => describeIssue(issue, { whole: 'body' })).join('; '),
        );
      const { row, endpoint } = await load(c.req.param('endpointId') ?? '');
      let secrets = [...endpoint.secrets];
      let added: string | undefined;
      if (parsed.data.addSecret !== undefined) {
        added =
          parsed.data.addSecret === true
            ? generateSecret(endpoint.provider.type)
            : parsed.data.addSecret;
        secrets.push(added);
        if (secrets.length > MAX_SECRETS)
          throw new ValidationError(
            'too_many_secrets',
            `Endpoint ${endpoint.id} has ${String(MAX_SECRETS)} secrets already, the most it may hold; remove an old one first (removeSecret).`,
          );
      }
      if (parsed.data.removeSecret !== undefined) {
        const suffix = parsed.data.removeSecret.replace(/^…/, '');
        const matching = secrets.filter((secret) => secret.endsWith(suffix));
        if (matching.length !== 1) {
          throw new ValidationError(
            'secret_not_identified',
            matching.length === 0
              ? `No secret of endpoint ${endpoint.id} ends in "${suffix}"; GET the endpoint to see their last characters.`
              : `${matching.length} secrets end in "${suffix}"; give more of the secret's last characters.`,
          );
        }
        secrets = secrets.filter((secret) => secret !== matching[0]);
        if (secrets.length === 0)
          throw new ValidationError(
            'last_secret',
            'That would remove the last secret; add the new one first (addSecret), then remove the old one.',
          );
      }
      const { template: _old, ...rest } = endpoint;
      const template =
        parsed.data.template === undefined
          ? endpoint.template
          : (parsed.data.template ?? undefined);
      const updated = {
        ...rest,
        ...(template === undefined ? {} : { template }),
        secrets,
        enabled: parsed.data.enabled ?? endpoint.enabled,
      };
      await storage.tables.update('endpoints', endpointEntity(updated), row.etag);
      endpoints.invalidate(endpoint.id);
      return c.json({
        ...publicEndpoint(updated),
        ...(added === undefined ? {} : { addedSecret: added }),
      });
    },
    DELETE: async (c) => {
      const { row, endpoint } = await load(c.req.param('endpointId') ?? '');
      await storage.tables.delete('endpoints', ENDPOINTS_PARTITION, endpoint.id, row.etag);
      endpoints.invalidate(endpoint.id);
      return c.body(null, 204);
    },
  });

  const ingestDeps = { ...deps, readBudget: new ReadBudget(readBudgetBytes(deps.maxWebhookBytes)) };
  route(app, '/hooks/:endpointId', {
    POST: async (c) => {
      const result = await ingestWebhook(ingestDeps, c.req.param('endpointId') ?? '', c.req.raw);
      if (result.status === 'challenge') return c.json({ challenge: result.challenge });
      return c.json(result, result.status === 'accepted' ? 202 : 200);
    },
  });
}

import type { NexusApp } from '../app-env.ts';
import { ingestWebhook, type WebhookIngestDeps } from '../../webhooks/ingest-webhook.ts';
import { ReadBudget } from '../../webhooks/read-budget.ts';
import { route } from '../route-table.ts';

/** Webhook bodies read at once on `/hooks`: two of the largest, or 64 MiB. */
function readBudgetBytes(maxWebhookBytes: number): number {
  return Math.max(2 * maxWebhookBytes, 64 * 1024 * 1024);
}

/**
 * The public delivery URL `/hooks/{endpointId}`, which senders call without a key: their
 * signature is the authentication.
 */
export function hookRoutes(app: NexusApp, deps: Omit<WebhookIngestDeps, 'readBudget'>): void {
  const ingestDeps = { ...deps, readBudget: new ReadBudget(readBudgetBytes(deps.maxWebhookBytes)) };
  route(app, '/hooks/:endpointId', {
    POST: async (c) => {
      const result = await ingestWebhook(ingestDeps, c.req.param('endpointId') ?? '', c.req.raw);
      if (result.status === 'answer')
        return c.body(result.body, 200, { 'content-type': result.contentType });
      return c.json(result, result.status === 'accepted' ? 202 : 200);
    },
  });
}

import type { NexusApp } from '../app-env.ts';
import {
  answerSubscriptionCheck,
  ingestWebhook,
  type WebhookIngestDeps,
} from '../../webhooks/ingest-webhook.ts';
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
    // Meta checks a callback URL with a GET before it sends anything (docs/WEBHOOKS.md, "Meta").
    GET: async (c) => {
      const challenge = await answerSubscriptionCheck(
        deps.endpoints,
        c.req.param('endpointId') ?? '',
        new URL(c.req.url).searchParams,
      );
      return c.body(challenge, 200, { 'content-type': 'text/plain; charset=utf-8' });
    },
    POST: async (c) => {
      const result = await ingestWebhook(ingestDeps, c.req.param('endpointId') ?? '', c.req.raw);
      if (result.status === 'answer')
        return c.body(result.body, 200, { 'content-type': result.contentType });
      return c.json(result, result.status === 'accepted' ? 202 : 200);
    },
  });
}

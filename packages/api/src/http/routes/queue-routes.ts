import { z } from 'zod';
import {
  NexusError,
  InvalidCursorError,
  ValidationError,
  validateHostId,
  validateId,
  validateScope,
  type ClaimedWebhook,
  type SettleResult,
  type WebhookSettlement,
} from '@nexus/core';
import { authorize } from '../../auth/access.ts';
import type { ClaimRecorder } from '../../hosts/claim-recorder.ts';
import type { NexusApp, NexusContext } from '../app-env.ts';
import { readJsonAs } from '../json-body.ts';
import { authorizedScope, scopeParam } from '../scope-params.ts';
import { route } from '../route-table.ts';
import { parseLimit } from '../query-params.ts';
import { WEBHOOK_STATES, publicItem, type WebhookState } from '../../webhooks/webhook-item.ts';
import type { ClaimedItem, WebhookQueue } from '../../webhooks/webhook-queue.ts';

export interface QueueRouteDeps {
  readonly queue: WebhookQueue;
  readonly claims: ClaimRecorder;
  readonly defaultHostId: string;
  readonly now: () => Date;
  /** Aborted when the server stops: claims waiting for work answer at once. */
  readonly closing: AbortSignal;
}

const MAX_WAIT_SECONDS = 25;

/** Bodies up to this size travel inside the claim answer; larger ones are fetched on their own. */
const INLINE_CLAIM_BYTES = 256 * 1024;
/** A claim answer carries at most this much body data, so a batch of large items stays small. */
const CLAIM_BODY_BUDGET = 4 * 1024 * 1024;

const agentIds = z.array(z.string().min(1)).min(1).max(50);

const claimSchema = z
  .object({
    /** The claiming worker's host; workers before hosts existed leave it out (the default host). */
    hostId: z.string().optional(),
    agents: agentIds,
    max: z.number().int().min(1).max(100).default(10),
    leaseSeconds: z.number().int().min(5).max(900).default(60),
    /**
     * With nothing due, hold the request up to this long and answer as soon as something is
     * (a long poll; 25 s at most, far below Azure's 230 s front-end limit). 0: answer at once.
     */
    waitSeconds: z.number().min(0).max(MAX_WAIT_SECONDS).default(0),
  })
  .strict();

/** What every settlement names: the webhook and the lease it was delivered under. */
const settled = {
  /** Left out by workers before hosts existed: the default host. */
  hostId: z.string().optional(),
  agentId: z.string(),
  id: z.string(),
  leaseId: z.string().min(1),
};

/** Typed against the wire contract, so the schema and `WebhookSettlement` cannot drift apart. */
const settleItem: z.ZodType<Omit<WebhookSettlement, 'hostId'> & { hostId?: string | undefined }> =
  z.discriminatedUnion('outcome', [
    z
      .object({
        ...settled,
        outcome: z.literal('delivered'),
        status: z.number().int().min(100).max(599).optional(),
      })
      .strict(),
    z
      .object({
        ...settled,
        outcome: z.enum(['failed', 'released']),
        reason: z.string().min(1, 'say why, e.g. "gateway answered 500: ..."'),
        status: z.number().int().min(0).max(599).optional(),
        retryAfterSeconds: z
          .number()
          .min(0)
          .max(24 * 3600)
          .optional(),
      })
      .strict(),
    z
      .object({
        ...settled,
        outcome: z.literal('rejected'),
        reason: z.string().min(1, 'say why, e.g. "gateway answered 400: ..."'),
        status: z.number().int().min(0).max(599).optional(),
      })
      .strict(),
  ]);

const settleSchema = z.object({ results: z.array(settleItem).min(1).max(100) }).strict();

/**
 * The worker's side of the webhook queue (claim, settle) and the owner's (list, show, replay).
 * All behind the API key.
 */
export function queueRoutes(app: NexusApp, deps: QueueRouteDeps): void {
  const { queue, defaultHostId } = deps;

  route(app, '/v1/webhooks/claim', {
    POST: async (c) => {
      const request = await readJsonAs(c, claimSchema, 'invalid_claim');
      const hostId = validateHostId(request.hostId ?? defaultHostId);
      authorize(c.get('principal'), {
        kind: 'act',
        hostId,
        what: `claims webhooks of host ${hostId}`,
      });
      const scopes = request.agents.map((agent) => validateScope(hostId, agent));
      await deps.claims.claimed(hostId, deps.now());
      const claimed = await queue.claimWaiting(
        scopes,
        request.max,
        request.leaseSeconds * 1000,
        request.waitSeconds * 1000,
        AbortSignal.any([c.req.raw.signal, deps.closing]),
      );
      let budget = CLAIM_BODY_BUDGET;
      const items = [];
      for (const entry of claimed) {
        const inline = entry.item.bytes <= INLINE_CLAIM_BYTES && entry.item.bytes <= budget;
        if (inline) budget -= entry.item.bytes;
        items.push(await claimedView(queue, entry, inline));
      }
      return c.json({ items });
    },
  });

  route(app, '/v1/webhooks/settle', {
    POST: async (c) => {
      const { results } = await readJsonAs(c, settleSchema, 'invalid_settle');
      const hosts = new Set(results.map((result) => result.hostId ?? defaultHostId));
      for (const hostId of hosts)
        authorize(c.get('principal'), {
          kind: 'act',
          hostId: validateHostId(hostId),
          what: `settles webhooks of host ${hostId}`,
        });
      // Items side by side (their writes share commits), each item's results in order (a
      // repeated id is rare, but its results must apply one after the other).
      const answers: SettleResult[] = new Array<SettleResult>(results.length);
      const byItem = new Map<string, number[]>();
      results.forEach((result, index) => {
        byItem.set(result.id, [...(byItem.get(result.id) ?? []), index]);
      });
      const settleOne = async (index: number) => {
        const result = results[index];
        if (result === undefined) return;
        try {
          const request = {
            ...result,
            hostId: result.hostId ?? defaultHostId,
            agentId: validateId('agent id', result.agentId),
            id: validateId('webhook id', result.id),
          } as WebhookSettlement;
          const item = await queue.settle(request);
          answers[index] = { id: result.id, ok: true, state: item.state, attempts: item.attempts };
        } catch (error) {
          if (!(error instanceof NexusError)) throw error;
          answers[index] = {
            id: result.id,
            ok: false,
            error: { code: error.code, message: error.message },
          };
        }
      };
      await Promise.all(
        [...byItem.values()].map(async (indexes) => {
          for (const index of indexes) await settleOne(index);
        }),
      );
      return c.json({ results: answers });
    },
  });

  route(app, '/v1/webhooks', {
    GET: async (c) => {
      const agentId = c.req.query('agentId');
      if (agentId === undefined)
        throw new ValidationError(
          'missing_agent_id',
          'Say whose webhooks to list: ?hostId=<host>&agentId=<agent> (the host and agent of the endpoint).',
        );
      const scope = validateScope(c.req.query('hostId') ?? defaultHostId, agentId);
      authorize(c.get('principal'), {
        kind: 'read',
        hostId: scope.hostId,
        what: `lists webhooks of host ${scope.hostId}`,
      });
      const state = parseState(c.req.query('state'));
      const cursor = parseCursor(c.req.query('cursor'));
      const page = await queue.list(scope, {
        limit: parseLimit(c.req.query('limit'), 50, 200),
        ...(state === undefined ? {} : { state }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return c.json({
        items: page.items.map(publicItem),
        ...(page.cursor === undefined
          ? {}
          : { cursor: Buffer.from(page.cursor).toString('base64url') }),
      });
    },
  });

  const idParam = (c: NexusContext) => validateId('webhook id', c.req.param('id') ?? '');

  // Under a host, and (deprecated, for the default host) without one.
  for (const base of ['/v1/hosts/:hostId/agents/:agentId/webhooks', '/v1/webhooks/:agentId']) {
    route(app, `${base}/:id`, {
      GET: async (c) => {
        const scope = authorizedScope(
          c,
          defaultHostId,
          'read',
          ({ hostId }) => `reads a webhook of host ${hostId}`,
        );
        const item = await queue.require(scope, idParam(c));
        return c.json({
          ...publicItem(item),
          headers: item.headers,
          delivery: item.delivery,
          history: item.history,
        });
      },
    });

    route(app, `${base}/:id/body`, {
      GET: async (c) => {
        const scope = authorizedScope(
          c,
          defaultHostId,
          'deliver',
          ({ hostId }) => `reads a webhook body of host ${hostId}`,
        );
        const item = await queue.require(scope, idParam(c));
        const body = await queue.body(item);
        return c.body(body as Uint8Array<ArrayBuffer>, 200, { 'content-type': item.contentType });
      },
    });

    route(app, `${base}/:id/replay`, {
      POST: async (c) => {
        authorize(c.get('principal'), { kind: 'manage', what: 'replays a webhook' });
        return c.json(publicItem(await queue.replay(scopeParam(c, defaultHostId), idParam(c))));
      },
    });
  }
}

async function claimedView(
  queue: WebhookQueue,
  entry: ClaimedItem,
  inline: boolean,
): Promise<ClaimedWebhook> {
  const { item } = entry;
  return {
    ...publicItem(item),
    leaseId: entry.leaseId,
    leaseUntil: entry.leaseUntil,
    delivery: entry.delivery,
    headers: item.headers,
    ...(inline
      ? { body: Buffer.from(await queue.body(item)).toString('base64') }
      : { bodyUrl: `/v1/hosts/${item.hostId}/agents/${item.agentId}/webhooks/${item.id}/body` }),
  };
}

function parseState(value: string | undefined): WebhookState | undefined {
  if (value === undefined) return undefined;
  if (!(WEBHOOK_STATES as readonly string[]).includes(value)) {
    throw new ValidationError(
      'invalid_state',
      `state must be one of ${WEBHOOK_STATES.join(', ')}; got ${JSON.stringify(value)}.`,
    );
  }
  return value as WebhookState;
}

function parseCursor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = Buffer.from(value, 'base64url').toString('utf8');
  if (!/^(\d{13}_)?wh_[0-9a-f]{32}$/.test(key) || Buffer.from(key).toString('base64url') !== value)
    throw new InvalidCursorError();
  return key;
}

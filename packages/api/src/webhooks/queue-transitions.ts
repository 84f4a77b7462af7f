import { ConflictError, type WebhookSettlement } from '@nexus/core';
import { leaseIdFor, wasIssued } from './lease-id.ts';
import { decideFailure, type RetryPolicy } from './retry-policy.ts';
import { withRecord, type WebhookItem } from './webhook-item.ts';

/**
 * The webhook queue's state machine, pure: an item, what happened, the policy and the time in;
 * where the item goes out. The queue (`webhook-queue.ts`) only applies the answer to storage.
 *
 *   pending ──claim──▶ leased ──delivered──▶ delivered ──replay──▶ pending
 *      ▲                 │ failed (attempts left) / released / lease expired
 *      └─────────────────┘
 *                        └ failed, no attempts left, or rejected ──▶ dead ──replay──▶ pending
 *
 *   pending/leased ──hold (its endpoint is paused)──▶ paused ──resume──▶ pending
 *   filtered (an event type the endpoint does not accept) ──replay──▶ pending
 */
export type QueueEvent =
  | { readonly type: 'claim'; readonly leaseMs: number; readonly newSalt: string }
  | { readonly type: 'settle'; readonly settlement: WebhookSettlement }
  | { readonly type: 'replay' }
  | { readonly type: 'hold' }
  /** Back in the queue, due at `dueMs` (when it was paused: resumed items keep their order). */
  | { readonly type: 'resume'; readonly dueMs: number };

/** Where the item goes: back into the queue, due at `dueMs`, or out of it, kept for retention. */
export type Transition =
  | {
      readonly to: 'queue';
      readonly dueMs: number;
      readonly changes: Partial<WebhookItem>;
      /** For a claim: the lease handed to the worker. */
      readonly leaseId?: string;
    }
  | {
      readonly to: 'final';
      readonly state: 'delivered' | 'dead';
      readonly changes: Partial<WebhookItem>;
    }
  /** Out of the queue until its endpoint is resumed. */
  | { readonly to: 'paused'; readonly changes: Partial<WebhookItem> }
  /** Nothing to change: a `delivered` for an item already delivered. */
  | { readonly to: 'unchanged' };

export interface TransitionContext {
  readonly nowMs: number;
  readonly retry: RetryPolicy;
  readonly random: () => number;
}

export function transition(
  item: WebhookItem,
  event: QueueEvent,
  context: TransitionContext,
): Transition {
  switch (event.type) {
    case 'claim':
      return claim(item, event.leaseMs, event.newSalt, context);
    case 'settle':
      return settle(item, event.settlement, context);
    case 'replay':
      return replay(item, context.nowMs);
    case 'hold':
      return hold(item, context.nowMs);
    case 'resume':
      return resume(item, event.dueMs);
  }
}

/**
 * A due item of a paused endpoint leaves the queue, its attempts as they were (a lease that
 * expired was not an attempt that failed: it is handed out again on resume).
 */
function hold(item: WebhookItem, nowMs: number): Transition {
  if (item.state !== 'pending' && item.state !== 'leased')
    throw new ConflictError(
      'not_holdable',
      `Webhook ${item.id} is ${item.state}: only items waiting in the queue are paused.`,
    );
  return {
    to: 'paused',
    changes: {
      state: 'paused',
      leaseId: '',
      leaseUntil: '',
      attempts: item.state === 'leased' ? Math.max(0, item.attempts - 1) : item.attempts,
      pausedAt: new Date(nowMs).toISOString(),
    },
  };
}

function resume(item: WebhookItem, dueMs: number): Transition {
  if (item.state !== 'paused')
    throw new ConflictError('not_paused', `Webhook ${item.id} is ${item.state}, not paused.`);
  return { to: 'queue', dueMs, changes: { state: 'pending', pausedKey: '', pausedAt: '' } };
}

function claim(
  item: WebhookItem,
  leaseMs: number,
  newSalt: string,
  { nowMs, retry }: TransitionContext,
): Transition {
  if (item.state === 'leased' && item.attempts >= retry.maxAttempts) {
    // The worker died (or hung) on the last attempt: give up rather than loop on a poison item.
    return {
      to: 'final',
      state: 'dead',
      changes: {
        lastError: `the lease expired on attempt ${String(item.attempts)} of ${String(retry.maxAttempts)} (the worker stopped while delivering)`,
        history: withRecord(item.history, {
          at: new Date(nowMs).toISOString(),
          outcome: 'expired',
          error: 'the lease expired (the worker stopped while delivering)',
        }),
      },
    };
  }
  const leaseSalt = item.leaseSalt || newSalt;
  const leaseSeq = item.leaseSeq + 1;
  const leaseId = leaseIdFor(item.id, leaseSalt, leaseSeq);
  const leaseUntil = nowMs + leaseMs;
  return {
    to: 'queue',
    dueMs: leaseUntil,
    leaseId,
    changes: {
      state: 'leased',
      attempts: item.attempts + 1,
      leaseSalt,
      leaseSeq,
      leaseId,
      leaseUntil: new Date(leaseUntil).toISOString(),
      lastAttemptAt: new Date(nowMs).toISOString(),
    },
  };
}

/**
 * `delivered` is accepted with any lease ever issued for the item, even an expired one (the
 * gateway has it: that is the truth), and refused with one never issued; `failed` and `released`
 * need the current lease, else `lease_lost` (another worker holds it now).
 */
function settle(
  item: WebhookItem,
  settlement: WebhookSettlement,
  { nowMs, retry, random }: TransitionContext,
): Transition {
  if (settlement.outcome === 'delivered') {
    if (!wasIssued(item, settlement.leaseId))
      throw new ConflictError(
        'unknown_lease',
        `Lease ${settlement.leaseId.slice(0, 40)} was never issued for webhook ${item.id}; settle only what a claim returned.`,
      );
    if (item.state === 'delivered') return { to: 'unchanged' };
    const at = new Date(nowMs).toISOString();
    return {
      to: 'final',
      state: 'delivered',
      changes: {
        lastStatus: settlement.status ?? 0,
        lastError: '',
        deliveredAt: item.deliveredAt || at,
        lastDeliveredAt: at,
        history: withRecord(item.history, {
          at,
          outcome: 'delivered',
          ...(settlement.status === undefined ? {} : { status: settlement.status }),
        }),
      },
    };
  }
  if (item.state !== 'leased' || item.leaseId !== settlement.leaseId) {
    throw new ConflictError(
      'lease_lost',
      `Webhook ${item.id} is no longer leased to this worker (it is ${item.state}); its lease expired and it was claimed again, or it was settled already.`,
    );
  }
  const reason = settlement.reason.slice(0, 1000);
  const lastStatus = settlement.status ?? 0;
  const history = withRecord(item.history, {
    at: new Date(nowMs).toISOString(),
    outcome: settlement.outcome,
    status: lastStatus,
    error: reason,
  });
  if (settlement.outcome === 'rejected')
    // The gateway will never take it as it is: no retries, kept for a fix and a replay.
    return { to: 'final', state: 'dead', changes: { lastError: reason, lastStatus, history } };
  const retryAfterMs = (settlement.retryAfterSeconds ?? 0) * 1000;
  const backInQueue = {
    state: 'pending' as const,
    leaseId: '',
    leaseUntil: '',
    lastError: reason,
    lastStatus,
    history,
  };
  if (settlement.outcome === 'released') {
    // Not counted: the gateway was down or busy.
    return {
      to: 'queue',
      dueMs: nowMs + retryAfterMs,
      changes: { ...backInQueue, attempts: Math.max(0, item.attempts - 1) },
    };
  }
  const decision = decideFailure(item.attempts, retry, random, retryAfterMs);
  if (decision.kind === 'dead')
    return { to: 'final', state: 'dead', changes: { lastError: reason, lastStatus, history } };
  return { to: 'queue', dueMs: nowMs + decision.delayMs, changes: backInQueue };
}

/**
 * A delivered or dead item back in the queue, due now, attempts reset. The first delivery's time
 * stays; the replay is counted, so the worker gives the gateway a new idempotency key (OpenClaw
 * drops a key it saw in the last 5 minutes).
 */
function replay(item: WebhookItem, nowMs: number): Transition {
  if (item.state !== 'delivered' && item.state !== 'dead' && item.state !== 'filtered') {
    throw new ConflictError(
      'not_replayable',
      item.state === 'paused'
        ? `Webhook ${item.id} is paused with its endpoint ${item.endpointId}: resume the endpoint to deliver it.`
        : `Webhook ${item.id} is ${item.state}: it is still in the queue. Only delivered, dead or filtered items can be replayed.`,
    );
  }
  return {
    to: 'queue',
    dueMs: nowMs,
    changes: {
      state: 'pending',
      attempts: 0,
      expiryKey: '',
      leaseId: '',
      leaseUntil: '',
      lastError: '',
      lastStatus: 0,
      deadAt: '',
      replays: item.replays + 1,
      replayedAt: new Date(nowMs).toISOString(),
      history: withRecord(item.history, { at: new Date(nowMs).toISOString(), outcome: 'replayed' }),
    },
  };
}

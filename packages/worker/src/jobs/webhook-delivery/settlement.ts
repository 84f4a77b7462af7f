import type { ClaimedWebhook, WebhookSettlement } from '@nexus/core';
import type { GatewayOutcome } from './gateway-outcome.ts';

type Leased = Pick<ClaimedWebhook, 'hostId' | 'agentId' | 'id' | 'leaseId'>;

/** What to report to the API for a gateway answer. Pure. */
export function settlementOf(item: Leased, outcome: GatewayOutcome): WebhookSettlement {
  const base = { hostId: item.hostId, agentId: item.agentId, id: item.id, leaseId: item.leaseId };
  switch (outcome.kind) {
    case 'delivered':
      return { ...base, outcome: 'delivered', status: outcome.status };
    case 'rejected':
    case 'too_large':
      // A body too large even for the notice that stands in for it is as final as a 400.
      return { ...base, outcome: 'rejected', status: outcome.status, reason: outcome.reason };
    case 'failed':
      return {
        ...base,
        outcome: 'failed',
        status: outcome.status,
        reason: outcome.reason,
        ...(outcome.retryAfterSeconds === undefined
          ? {}
          : { retryAfterSeconds: outcome.retryAfterSeconds }),
      };
    case 'released':
      return {
        ...base,
        outcome: 'released',
        status: outcome.status,
        reason: outcome.reason,
        retryAfterSeconds: outcome.retryAfterSeconds,
      };
  }
}

/** An item not tried (the gateway paused us, or the worker stops): back, its attempt not counted. */
export function handedBack(
  item: Leased,
  reason: string,
  retryAfterSeconds: number,
): WebhookSettlement {
  return {
    hostId: item.hostId,
    agentId: item.agentId,
    id: item.id,
    leaseId: item.leaseId,
    outcome: 'released',
    status: 0,
    reason,
    retryAfterSeconds,
  };
}

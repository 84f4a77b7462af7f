import { parseRetryAfter } from '../../api-client/retry-policy.ts';

/**
 * What a gateway answer means for the queue. `released` items go back without counting an
 * attempt: the gateway was down, busy or refused the token, none of which is the item's fault;
 * `pause` tells the job to stop sending for a while.
 */
export type GatewayOutcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | {
      readonly kind: 'failed';
      readonly status: number;
      readonly reason: string;
      readonly retryAfterSeconds?: number;
    }
  | {
      readonly kind: 'released';
      readonly status: number;
      readonly reason: string;
      readonly retryAfterSeconds: number;
      readonly pause: 'down' | 'busy' | 'unauthorized';
    };

/** When the gateway is busy and says nothing about when to come back. */
const DEFAULT_BUSY_SECONDS = 5;

export function classifyGatewayResponse(
  status: number,
  retryAfter: string | null,
  bodyText: string,
  nowMs: number,
): GatewayOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  const detail = errorDetail(bodyText);
  const asked = parseRetryAfter(retryAfter, nowMs);
  const retryAfterSeconds = asked === undefined ? undefined : Math.ceil(asked / 1000);
  if (status === 429) {
    return {
      kind: 'released',
      status,
      reason: `the gateway is busy (429${detail})`,
      retryAfterSeconds: retryAfterSeconds ?? DEFAULT_BUSY_SECONDS,
      pause: 'busy',
    };
  }
  if (status === 401 || status === 403) {
    return {
      kind: 'released',
      status,
      reason: `the gateway refused the hooks token (${status}${detail}); check hooks.token in openclaw.json or gateway.token in the job config`,
      retryAfterSeconds: 0,
      pause: 'unauthorized',
    };
  }
  return {
    kind: 'failed',
    status,
    reason: `the gateway answered ${status}${detail}`,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

/** The gateway could not be reached at all: the item waits, uncounted, until it is back. */
export function unreachable(message: string): GatewayOutcome {
  return {
    kind: 'released',
    status: 0,
    reason: `the gateway is unreachable: ${message}`,
    retryAfterSeconds: 0,
    pause: 'down',
  };
}

function errorDetail(bodyText: string): string {
  try {
    const error = (JSON.parse(bodyText) as { error?: unknown }).error;
    if (typeof error === 'string') return `: ${error.slice(0, 300)}`;
  } catch {
    // not JSON: show the start of the text
  }
  const text = bodyText.trim().slice(0, 300);
  return text === '' ? '' : `: ${text}`;
}

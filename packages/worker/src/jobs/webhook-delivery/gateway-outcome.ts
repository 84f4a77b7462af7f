import { parseRetryAfter } from '../../api-client/retry-policy.ts';

/**
 * What a gateway answer means for the queue (OpenClaw's `/hooks` answers, docs/WEBHOOKS.md):
 * - 2xx `delivered` (the run started);
 * - 400 (the gateway found the request malformed) and 404 (no such hook: a mapping missing from
 *   `hooks.mappings`) `rejected`: dead at once, with the reason, to be fixed and replayed;
 * - 413 (over `hooks.maxBodyBytes`) `too_large`: the job sends a notice within the limit instead;
 * - 401/403 (the hooks token), 429 (busy), 502/503/504 (restarting, overloaded) and no answer at
 *   all `released`: not the item's fault, not counted; `pause` tells the job to stop sending for a
 *   while (`Retry-After` honoured);
 * - anything else (409 session busy, 500) `failed`: counted, back after the API's backoff.
 */
export type GatewayOutcome =
  | { readonly kind: 'delivered'; readonly status: number; readonly note?: string }
  | { readonly kind: 'rejected'; readonly status: number; readonly reason: string }
  | { readonly kind: 'too_large'; readonly status: number; readonly reason: string }
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
  if (status === 429 || status === 502 || status === 503 || status === 504) {
    return {
      kind: 'released',
      status,
      reason: `the gateway is ${status === 429 ? 'busy' : 'not ready'} (${String(status)}${detail})`,
      retryAfterSeconds: retryAfterSeconds ?? DEFAULT_BUSY_SECONDS,
      pause: 'busy',
    };
  }
  if (status === 400)
    return {
      kind: 'rejected',
      status,
      reason: `the gateway refused the request (400${detail}); not retried: fix the endpoint's action or template, then replay`,
    };
  if (status === 404)
    return {
      kind: 'rejected',
      status,
      reason: `the gateway has no such hook (404${detail}); not retried: add the mapping to hooks.mappings in openclaw.json (or change the endpoint's action), then replay`,
    };
  if (status === 413)
    return {
      kind: 'too_large',
      status,
      reason: `the body is over the gateway's hooks.maxBodyBytes (413${detail})`,
    };
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

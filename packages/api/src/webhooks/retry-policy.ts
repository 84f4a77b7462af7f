/**
 * When a failed delivery is tried again, and when it is given up. Pure: the queue passes the
 * clock and the random source, tests pass fixed ones.
 */
export interface RetryPolicy {
  /** Attempts (claims) before an item is dead-lettered. */
  readonly maxAttempts: number;
  /** Delay after the first failure; doubles with each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 10_000,
  maxDelayMs: 60 * 60_000,
};

export type FailureDecision =
  { readonly kind: 'retry'; readonly delayMs: number } | { readonly kind: 'dead' };

/**
 * After failed attempt number `attempts` (1-based): dead when none are left, else back after
 * `base * 2^(attempts-1)` capped at `max`, with "equal jitter" (between half and all of it) so that
 * items failing together do not come back together. A sender's `Retry-After` is a floor.
 */
export function decideFailure(
  attempts: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs?: number,
): FailureDecision {
  if (attempts >= policy.maxAttempts) return { kind: 'dead' };
  const exponential = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** Math.max(0, attempts - 1),
  );
  const jittered = Math.round(exponential / 2 + (random() * exponential) / 2);
  return { kind: 'retry', delayMs: Math.max(jittered, retryAfterMs ?? 0) };
}

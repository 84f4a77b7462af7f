/**
 * How long to wait before retry number `attempt` (1-based): exponential backoff with equal
 * jitter (half the capped delay, plus a random part of the other half); a server's `Retry-After` (seconds or an HTTP date) wins when it asks for longer.
 * Pure: `random` and `nowMs` are parameters.
 */
export function retryDelayMs(
  attempt: number,
  options: {
    baseMs: number;
    maxMs: number;
    retryAfter?: string | null;
    random: () => number;
    nowMs: number;
  },
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** (attempt - 1));
  const jittered = Math.round(ceiling / 2 + (options.random() * ceiling) / 2);
  const asked = parseRetryAfter(options.retryAfter ?? null, options.nowMs);
  return asked === undefined ? jittered : Math.max(jittered, Math.min(asked, MAX_RETRY_AFTER_MS));
}

/** A server may ask for a long pause; within one run we wait at most this long, then try next run. */
const MAX_RETRY_AFTER_MS = 5 * 60 * 1000;

export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Network errors, 408, 429 and 5xx can succeed later; other 4xx will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

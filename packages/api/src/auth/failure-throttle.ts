/**
 * Failed authentications per client address, as a token bucket: a client may fail `burst` times
 * at once, then once every `refillMs`; beyond that its failures are answered 429 with the wait.
 * Only failures take tokens, so a valid key is never slowed or refused by this. Kept in memory,
 * per process (each Azure Functions instance has its own); at most `maxAddresses` are tracked,
 * the least recently failing forgotten first.
 */
export interface ThrottleOptions {
  readonly burst: number;
  readonly refillMs: number;
  readonly maxAddresses: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  burst: 10,
  refillMs: 6_000,
  maxAddresses: 10_000,
};

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly options: ThrottleOptions;

  constructor(options: ThrottleOptions = DEFAULT_THROTTLE) {
    this.options = options;
  }

  /** Milliseconds until `address` may fail again; 0 when it may now. */
  waitMs(address: string, nowMs: number): number {
    const bucket = this.refilled(address, nowMs);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) * this.options.refillMs);
  }

  /** Counts one failure of `address`. */
  failed(address: string, nowMs: number): void {
    const bucket = this.refilled(address, nowMs) ?? { tokens: this.options.burst, at: nowMs };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    // Re-inserting keeps the map in order of last failure: the oldest is evicted first.
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    if (this.buckets.size > this.options.maxAddresses) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
  }

  private refilled(address: string, nowMs: number): Bucket | undefined {
    const bucket = this.buckets.get(address);
    if (!bucket) return undefined;
    const gained = Math.max(0, nowMs - bucket.at) / this.options.refillMs;
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + gained);
    bucket.at = nowMs;
    if (bucket.tokens >= this.options.burst) {
      this.buckets.delete(address);
      return undefined;
    }
    return bucket;
  }
}

import { TooManyRequestsError, UnauthorizedError } from '@nexus/core';
import type { ApiKeys } from '../http/api-keys.ts';
import type { FailureThrottle } from './failure-throttle.ts';
import type { KeyStore } from './key-store.ts';
import type { Principal } from './principal.ts';

/**
 * Turns a request's `Authorization` header into the principal it speaks for: a key from
 * `NEXUS_API_KEYS` (or the generated first key) is an admin; a created key (`nxk_…`) is what its
 * row says. Every failure counts against the client's address; an address over its budget gets
 * 429 for further failures, while the keys in use (configured ones, created ones whose row this
 * instance read in the last few seconds) still work from it; other created keys are not looked
 * up for it, so guesses cost no storage reads (`FailureThrottle`).
 */
export class Authenticator {
  private readonly envKeys: ApiKeys;
  private readonly keys: KeyStore;
  private readonly throttle: FailureThrottle;
  private readonly nowMs: () => number;

  constructor(deps: {
    envKeys: ApiKeys;
    keys: KeyStore;
    throttle: FailureThrottle;
    nowMs: () => number;
  }) {
    this.envKeys = deps.envKeys;
    this.keys = deps.keys;
    this.throttle = deps.throttle;
    this.nowMs = deps.nowMs;
  }

  async authenticate(header: string | undefined, address: string): Promise<Principal> {
    const presented = bearerOf(header);
    if (presented.key !== undefined) {
      if (this.envKeys.verify(presented.key)) return { role: 'admin', keyId: 'env' };
      // An address over its budget gets no storage read per guess: only keys already known.
      const throttled = this.throttle.waitMs(address, this.nowMs()) > 0;
      const found = await this.keys.lookup(presented.key, { cachedOnly: throttled });
      if (found.status === 'valid') return found.principal;
      this.fail(address);
      if (found.status === 'revoked')
        throw new UnauthorizedError(
          `The key ${found.keyId} was revoked; ask the admin for a new one (or enrol this host again).`,
        );
      throw new UnauthorizedError(
        'The API key is not valid for this server; check NEXUS_API_KEY, the worker config or the generated key file.',
      );
    }
    this.fail(address);
    throw new UnauthorizedError(presented.problem);
  }

  /** Counts a failure (a wrong key, or an enrolment code that is not known). */
  fail(address: string): void {
    const now = this.nowMs();
    const waitMs = this.throttle.waitMs(address, now);
    if (waitMs > 0) {
      throw new TooManyRequestsError(
        'too_many_failures',
        `Too many failed authentications from this address; wait ${Math.ceil(waitMs / 1000)} s and check the key.`,
        Math.ceil(waitMs / 1000),
      );
    }
    this.throttle.failed(address, now);
  }
}

function bearerOf(header: string | undefined): { key?: string; problem: string } {
  if (header === undefined)
    return {
      problem: 'This route needs an API key: send the header "Authorization: Bearer <key>".',
    };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return { problem: 'The Authorization header must be "Bearer <key>".' };
  return { key: match[1], problem: '' };
}

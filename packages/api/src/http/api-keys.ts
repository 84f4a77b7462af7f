import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The API keys this server accepts. Only their SHA-256 digests are kept in memory, and a
 * presented key is compared against every digest in constant time, so neither timing nor the
 * position of a match tells an attacker anything.
 */
export class ApiKeys {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((key) => key.length > 0).map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /**
   * A short public name of a configured key (part of its digest's hex), kept in a dashboard
   * login cookie instead of the key itself; `undefined` for a key that is not configured.
   */
  fingerprintOf(presented: string): string | undefined {
    return this.verify(presented) ? fingerprint(digest(presented)) : undefined;
  }

  /** Whether a configured key has this fingerprint (a login made with it is still good). */
  hasFingerprint(name: string): boolean {
    return this.digests.some((known) => fingerprint(known) === name);
  }

  verify(presented: string): boolean {
    const candidate = digest(presented);
    let match = false;
    for (const known of this.digests) match = timingSafeEqual(candidate, known) || match;
    return match;
  }
}

function fingerprint(digested: Buffer): string {
  return digested.subarray(0, 12).toString('hex');
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

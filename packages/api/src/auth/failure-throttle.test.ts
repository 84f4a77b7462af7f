import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './failure-throttle.ts';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

describe('FailureThrottle', () => {
  it('lets an address fail a burst, then once per refill, and forgets it once refilled', () => {
    const throttle = new FailureThrottle({ burst: 3, refillMs: 1000, maxAddresses: 10 });
    for (let i = 0; i < 3; i += 1) {
      expect(throttle.waitMs('1.2.3.4', T0)).toBe(0);
      throttle.failed('1.2.3.4', T0);
    }
    expect(throttle.waitMs('1.2.3.4', T0)).toBe(1000);
    expect(throttle.waitMs('1.2.3.4', T0 + 400)).toBe(600);
    // Another address is not held back by the first.
    expect(throttle.waitMs('5.6.7.8', T0)).toBe(0);
    expect(throttle.waitMs('1.2.3.4', T0 + 1000)).toBe(0);
    throttle.failed('1.2.3.4', T0 + 1000);
    expect(throttle.waitMs('1.2.3.4', T0 + 1000)).toBe(1000);
    expect(throttle.waitMs('1.2.3.4', T0 + 10_000)).toBe(0);
  });

  it('tracks at most maxAddresses, forgetting the least recently failing first', () => {
    const throttle = new FailureThrottle({ burst: 1, refillMs: 60_000, maxAddresses: 2 });
    throttle.failed('a', T0);
    throttle.failed('b', T0 + 1);
    throttle.failed('c', T0 + 2);
    expect(throttle.waitMs('a', T0 + 3)).toBe(0);
    expect(throttle.waitMs('b', T0 + 3)).toBeGreaterThan(0);
    expect(throttle.waitMs('c', T0 + 3)).toBeGreaterThan(0);
  });
});

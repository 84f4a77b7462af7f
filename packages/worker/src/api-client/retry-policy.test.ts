import { UPLOAD_RETRY } from './nexus-client.ts';
import { describe, expect, it } from 'vitest';
import { isRetryableStatus, parseRetryAfter, retryDelayMs } from './retry-policy.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('retryDelayMs', () => {
  it('doubles per attempt, with jitter between half and all of it, up to the cap', () => {
    const at = (attempt: number, random: number) =>
      retryDelayMs(attempt, { baseMs: 500, maxMs: 8000, random: () => random, nowMs: NOW });
    expect([at(1, 0), at(1, 1)]).toEqual([250, 500]);
    expect([at(3, 0), at(3, 1)]).toEqual([1000, 2000]);
    expect(at(10, 1)).toBe(8000);
  });

  it('waits as long as Retry-After asks, seconds or date, within five minutes', () => {
    const base = { baseMs: 500, maxMs: 8000, random: () => 0, nowMs: NOW };
    expect(retryDelayMs(1, { ...base, retryAfter: '7' })).toBe(7000);
    expect(retryDelayMs(1, { ...base, retryAfter: new Date(NOW + 12_000).toUTCString() })).toBe(
      12_000,
    );
    expect(retryDelayMs(1, { ...base, retryAfter: '86400' })).toBe(300_000);
    expect(retryDelayMs(1, { ...base, retryAfter: 'soon' })).toBe(250);
  });
});

describe('parseRetryAfter / isRetryableStatus', () => {
  it('reads both forms and refuses junk', () => {
    expect(parseRetryAfter('3', NOW)).toBe(3000);
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
  });
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [503, true],
    [400, false],
    [401, false],
    [404, false],
    [413, false],
  ])('HTTP %i retryable: %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });
});

describe('the upload retry window', () => {
  it('outlasts a normal restart of the API (15 s) even when every delay is jittered to its least', () => {
    let total = 0;
    for (let attempt = 1; attempt < UPLOAD_RETRY.maxAttempts; attempt += 1)
      total += retryDelayMs(attempt, {
        baseMs: UPLOAD_RETRY.baseDelayMs,
        maxMs: UPLOAD_RETRY.maxDelayMs,
        random: () => 0,
        nowMs: 0,
      });
    expect(total).toBeGreaterThanOrEqual(15_000);
  });
});

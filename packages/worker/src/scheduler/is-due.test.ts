import { describe, expect, it } from 'vitest';
import { isDue } from './is-due.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
const MIN = 60_000;

describe('isDue', () => {
  it('runs a job never seen at once', () => {
    expect(isDue(15, {}, T0)).toBe(true);
  });
  it.each([
    [14 * MIN, false],
    [15 * MIN - 1, false],
    [15 * MIN, true],
    [60 * MIN, true],
  ])('after %i ms of a 15-minute interval: %s', (elapsed, due) => {
    expect(isDue(15, { lastStartedAt: T0, lastFinishedAt: T0 + 1000 }, T0 + elapsed)).toBe(due);
  });
  it('runs when the last start lies in the future (the clock went back)', () => {
    expect(isDue(15, { lastStartedAt: T0 + 10 * MIN, lastFinishedAt: T0 + 11 * MIN }, T0)).toBe(
      true,
    );
  });
  it('runs at once when the last run never finished (the worker was killed during it)', () => {
    expect(isDue(15, { lastStartedAt: T0 }, T0 + MIN)).toBe(true);
    expect(isDue(15, { lastStartedAt: T0, lastFinishedAt: T0 - MIN }, T0 + MIN)).toBe(true);
  });
});

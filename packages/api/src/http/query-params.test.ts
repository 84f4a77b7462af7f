import { describe, expect, it } from 'vitest';
import { parseDay, parseLimit, parseTime } from './query-params.ts';

describe('query parameters', () => {
  it.each(['0x10', '1e3', ' 5', '5 ', '+5', '05', '0', '-1', '2.0', '', '201'])(
    'refuses the limit %j',
    (value) => {
      expect(() => parseLimit(value, 50, 200)).toThrow(
        /limit must be a whole number from 1 to 200/,
      );
    },
  );

  it('accepts plain whole numbers as limits', () => {
    expect(parseLimit('1', 50, 200)).toBe(1);
    expect(parseLimit('200', 50, 200)).toBe(200);
    expect(parseLimit(undefined, 50, 200)).toBe(50);
  });

  it.each([
    '2026-02-30',
    '2026-02-29',
    '2025-04-31',
    '2026-13-01',
    '2026-02-30T00:00:00Z',
    '2026-02-03T24:00:00Z',
    '2026-02-03T09:60:00Z',
    '2026-02-03T09:14:02',
    '2026-02-03 09:14:02Z',
    '20260203',
    'yesterday',
  ])('refuses the time %j', (value) => {
    expect(() => parseTime('from', value)).toThrow(/from must be/);
  });

  it('reads a day as midnight UTC and a time only with its zone', () => {
    expect(parseTime('from', '2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTime('from', '2026-02-03T09:14:02Z')).toBe(Date.UTC(2026, 1, 3, 9, 14, 2));
    expect(parseTime('from', '2026-02-03T09:14:02.5+02:00')).toBe(
      Date.UTC(2026, 1, 3, 7, 14, 2, 500),
    );
    expect(parseTime('from', '2026-02-03T09:14Z')).toBe(Date.UTC(2026, 1, 3, 9, 14));
  });

  it('refuses a day that is not on the calendar', () => {
    expect(() => parseDay('from', '2026-02-30')).toThrow(/from must be a UTC day/);
    expect(parseDay('from', '2024-02-29')).toBe('2024-02-29');
  });
});

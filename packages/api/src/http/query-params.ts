import { ValidationError } from '@nexus/core';

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
/** ISO 8601 with a zone: a time without one would be read in the server's own zone. */
const TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const LIMIT = /^[1-9]\d{0,8}$/;

/** A `limit` query parameter: a whole number in `[1, max]` written in plain digits, or the default. */
export function parseLimit(
  value: string | undefined,
  fallback: number,
  max: number,
  name = 'limit',
): number {
  if (value === undefined) return fallback;
  const limit = LIMIT.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(
      'invalid_limit',
      `${name} must be a whole number from 1 to ${max}, in digits; got ${JSON.stringify(value)}.`,
    );
  }
  return limit;
}

/** Whether year, month and day name a day on the calendar (no February 30th). */
function onCalendar(year: string, month: string, day: string): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return (
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() === Number(month) - 1 &&
    date.getUTCDate() === Number(day)
  );
}

/** A time bound: an ISO 8601 time with its zone, or a `YYYY-MM-DD` day (midnight UTC). */
export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const day = DAY.exec(value);
  const time = day ? undefined : TIME.exec(value);
  const parts = day ?? time;
  const valid =
    parts !== null &&
    parts !== undefined &&
    onCalendar(parts[1] ?? '', parts[2] ?? '', parts[3] ?? '') &&
    (time === undefined ||
      time === null ||
      (Number(time[4]) < 24 &&
        Number(time[5]) < 60 &&
        Number(time[6] ?? 0) < 60 &&
        Number(time[7] ?? 0) < 24 &&
        Number(time[8] ?? 0) < 60));
  const ms = valid ? Date.parse(day ? `${value}T00:00:00Z` : value) : NaN;
  if (Number.isNaN(ms)) {
    throw new ValidationError(
      `invalid_${name}`,
      `${name} must be an ISO 8601 time with its zone, such as 2026-02-03T09:14:02Z, or a day such as 2026-02-03 (midnight UTC); got ${JSON.stringify(value)}.`,
    );
  }
  return ms;
}

export function parseDay(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const day = DAY.exec(value);
  if (!day || !onCalendar(day[1] ?? '', day[2] ?? '', day[3] ?? '')) {
    throw new ValidationError(
      `invalid_${name}`,
      `${name} must be a UTC day on the calendar, as YYYY-MM-DD; got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

export function checkRange(
  fromName: string,
  from: number | string | undefined,
  toName: string,
  to: number | string | undefined,
): void {
  if (from !== undefined && to !== undefined && from > to) {
    throw new ValidationError('invalid_range', `${fromName} is after ${toName}; swap them.`);
  }
}

/** A `g` query parameter: a generation's SHA-256, or `undefined` when absent or empty. */
export function parseGeneration(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9a-f]{64}$/.test(value))
    throw new ValidationError(
      'invalid_generation',
      `g names a generation by its SHA-256 (64 lowercase hex characters), as a session's generations list it; got ${JSON.stringify(value.slice(0, 80))}.`,
    );
  return value;
}

import { ValidationError } from '@nexus/core';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A `limit` query parameter: a whole number in `[1, max]`, or the default. */
export function parseLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(
      'invalid_limit',
      `limit must be a whole number from 1 to ${max}; got ${JSON.stringify(value)}.`,
    );
  }
  return limit;
}

/** A time bound: an ISO 8601 time or a `YYYY-MM-DD` day (midnight UTC). */
export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(DAY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms) || !/^\d{4}-/.test(value)) {
    throw new ValidationError(
      `invalid_${name}`,
      `${name} must be an ISO 8601 time such as 2026-02-03T09:14:02Z or a day such as 2026-02-03; got ${JSON.stringify(value)}.`,
    );
  }
  return ms;
}

export function parseDay(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new ValidationError(
      `invalid_${name}`,
      `${name} must be a UTC day as YYYY-MM-DD; got ${JSON.stringify(value)}.`,
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

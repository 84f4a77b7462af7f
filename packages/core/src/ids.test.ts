import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { validateId, validateSha256 } from './ids.ts';

describe('validateId', () => {
  it.each([
    'main',
    '7c1e2a4b-5d6f-4a8b-9c0d-1e2f3a4b5c6d',
    '7c1e2a4b-topic-12',
    '2026-02-02T20-29-47.344Z_7c1e2a4b',
    'a.b_c',
  ])('accepts %j', (id) => {
    expect(validateId('session id', id)).toBe(id);
  });

  it.each([
    ['empty', ''],
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['a parent reference', 'a..b'],
    ['a leading dot', '.hidden'],
    ['a hash', 'a#b'],
    ['a question mark', 'a?b'],
    ['a control character', 'a\u0001b'],
    ['a newline', 'a\nb'],
    ['a space', 'a b'],
    ['non-ASCII', 'sessión'],
    ['too many characters', 'a'.repeat(129)],
  ])('refuses an id with %s, naming the rule', (_label, id) => {
    const call = () => validateId('agent id', id);
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/agent id/);
  });
});

describe('validateSha256', () => {
  it('accepts 64 lowercase hex characters only', () => {
    expect(validateSha256('a'.repeat(64))).toBe('a'.repeat(64));
    expect(() => validateSha256('A'.repeat(64))).toThrow(/SHA-256/);
    expect(() => validateSha256('a'.repeat(63))).toThrow(/SHA-256/);
  });
});

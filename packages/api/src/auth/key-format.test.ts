import { describe, expect, it } from 'vitest';
import {
  enrolmentIdOf,
  hashSecret,
  keyIdOf,
  mintEnrolmentCode,
  mintKey,
  sameHash,
} from './key-format.ts';

describe('created keys and enrolment codes', () => {
  it('name their row, and only their hash is needed to check them', () => {
    const key = mintKey();
    expect(key.secret).toMatch(/^nxk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(keyIdOf(key.secret)).toBe(key.id);
    expect(sameHash(key.hash, hashSecret(key.secret))).toBe(true);
    expect(sameHash(key.hash, hashSecret(`${key.secret}x`))).toBe(false);
    expect(key.hash).not.toContain(key.secret.slice(17));
    const code = mintEnrolmentCode();
    expect(enrolmentIdOf(code.secret)).toBe(code.id);
    expect(keyIdOf(code.secret)).toBeUndefined();
    expect(enrolmentIdOf(key.secret)).toBeUndefined();
  });

  it('are never the same twice', () => {
    const ids = new Set(Array.from({ length: 200 }, () => mintKey().id));
    expect(ids.size).toBe(200);
  });

  it('do not take other keys for created ones', () => {
    expect(keyIdOf('a-long-key-from-NEXUS_API_KEYS')).toBeUndefined();
    expect(keyIdOf(`nxk_${'A'.repeat(43)}`)).toBeUndefined();
    expect(sameHash('', '')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import {
  hostScopeRange,
  normaliseHostId,
  scopeKey,
  scopeOfKey,
  scopeOfPartition,
  validateHostId,
  validateScope,
} from './hosts.ts';

describe('host ids', () => {
  it('makes a hostname into a host id', () => {
    expect(normaliseHostId("Anna's MacBook Pro.local")).toBe('anna-s-macbook-pro-local');
    expect(normaliseHostId('Zürich-Server_01')).toBe('zurich-server-01');
    expect(normaliseHostId('---')).toBe('host');
    expect(normaliseHostId('a'.repeat(80))).toHaveLength(63);
    expect(validateHostId(normaliseHostId(`${'x'.repeat(62)}-y`))).toBeTruthy();
  });

  it('refuses what is not a host id, and suggests one that is', () => {
    expect(validateHostId('laptop')).toBe('laptop');
    for (const bad of ['', 'Laptop', 'lap top', '-laptop', 'laptop-', 'a~b', 'a/b', 'x'.repeat(64)])
      expect(() => validateHostId(bad), bad).toThrow(/host id is not valid/);
    expect(() => validateHostId('My Laptop')).toThrow(/e\.g\. "my-laptop"/);
  });

  it('keys one agent of one host, and reads the key back', () => {
    const scope = validateScope('laptop', 'main');
    expect(scopeKey(scope)).toBe('laptop~main');
    expect(scopeOfKey('laptop~main')).toEqual(scope);
    // A key written before hosts existed is a bare agent id.
    expect(scopeOfKey('main')).toBeUndefined();
    expect(scopeOfPartition('laptop~main')).toEqual(scope);
    expect(() => scopeOfPartition('main')).toThrow(/not a host's agent/);
    expect(() => validateScope('laptop', 'a~b')).toThrow(/agent id/);
  });

  it("holds exactly one host's scopes in its key range", () => {
    const { rowKeyFrom, rowKeyTo } = hostScopeRange('a');
    const inRange = (key: string) => key >= rowKeyFrom && key < rowKeyTo;
    expect(inRange('a~main')).toBe(true);
    expect(inRange('a~zz.9_-')).toBe(true);
    expect(inRange('a-b~main')).toBe(false);
    expect(inRange('ab~main')).toBe(false);
    expect(inRange('main')).toBe(false);
  });
});

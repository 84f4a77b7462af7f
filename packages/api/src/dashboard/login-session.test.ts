import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '@nexus/core';
import { KeyStore } from '../auth/key-store.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { LOGIN_TTL_MS, LoginSessions } from './login-session.ts';

const ADMIN = 'dashboard-admin-key-0123456789';

describe('dashboard logins', () => {
  let storage: Storage;
  let nowMs = Date.parse('2026-12-02T10:00:00Z');
  let keys: KeyStore;
  const sessions = (apiKeys = new ApiKeys([ADMIN])) =>
    new LoginSessions({ storage, apiKeys, keys, nowMs: () => nowMs });

  beforeAll(async () => {
    storage = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-login-')));
    keys = new KeyStore(storage, { now: () => new Date(nowMs), cacheMs: 0 });
  });
  afterAll(async () => {
    await storage.close();
  });

  it('signs a login that verifies as the same admin, without the key in the cookie', async () => {
    const logins = sessions();
    const { value } = await logins.issue({ role: 'admin', keyId: 'env' }, ADMIN);
    expect(value).not.toContain(ADMIN);
    expect(Buffer.from(value.split('.')[0] ?? '', 'base64url').toString()).not.toContain(ADMIN);
    expect((await logins.verify(value))?.principal).toEqual({ role: 'admin', keyId: 'env' });
    // Another instance on the same storage shares the stored secret.
    expect((await sessions().verify(value))?.principal.role).toBe('admin');
  });

  it('refuses a changed, truncated, foreign or expired cookie', async () => {
    const logins = sessions();
    const { value } = await logins.issue({ role: 'admin', keyId: 'env' }, ADMIN);
    const [payload = '', mac = ''] = value.split('.');
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        expiresAtMs: 9e15,
      }),
    ).toString('base64url');
    for (const bad of [
      `${forged}.${mac}`,
      payload,
      `${payload}.`,
      `${payload}.${mac}.x`,
      'x'.repeat(2000),
      undefined,
    ])
      expect(await logins.verify(bad)).toBeUndefined();
    const other = new LoginSessions({
      storage,
      apiKeys: new ApiKeys([ADMIN]),
      keys,
      nowMs: () => nowMs,
      secret: 'another-secret',
    });
    expect(await other.verify(value)).toBeUndefined();
    nowMs += LOGIN_TTL_MS + 1;
    expect(await logins.verify(value)).toBeUndefined();
  });

  it('ends the login of a revoked key, and of a key no longer configured', async () => {
    const logins = sessions();
    const created = await keys.create({ role: 'reader', hosts: 'all', label: 't' });
    const { value } = await logins.issue(
      { role: 'reader', keyId: created.record.keyId, hosts: 'all' },
      created.key,
    );
    expect((await logins.verify(value))?.principal.role).toBe('reader');
    await keys.revoke(created.record.keyId);
    expect(await logins.verify(value)).toBeUndefined();

    const admin = await logins.issue({ role: 'admin', keyId: 'env' }, ADMIN);
    expect(
      await sessions(new ApiKeys(['a-different-admin-key-000'])).verify(admin.value),
    ).toBeUndefined();
  });

  it('gives each login its own CSRF token and checks it', async () => {
    const logins = sessions();
    const a = await logins.issue({ role: 'admin', keyId: 'env' }, ADMIN);
    const b = await logins.issue({ role: 'admin', keyId: 'env' }, ADMIN);
    const token = await logins.csrfToken(a.login);
    expect(await logins.checkCsrf(a.login, token)).toBe(true);
    expect(await logins.checkCsrf(b.login, token)).toBe(false);
    expect(await logins.checkCsrf(a.login, undefined)).toBe(false);
    expect(await logins.checkCsrf(a.login, `${token}x`)).toBe(false);
  });
});

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AlreadyExistsError, type Storage } from '@nexus/core';
import type { ApiKeys } from '../http/api-keys.ts';
import type { KeyStore } from '../auth/key-store.ts';
import type { Principal } from '../auth/principal.ts';

/** The dashboard's login cookie. `__Host-` needs HTTPS, which a local server does not have. */
export const LOGIN_COOKIE = 'nexus_login';
/** How long a login lasts: a working day. */
export const LOGIN_TTL_MS = 12 * 60 * 60_000;

const SECRET_TABLE = 'nexus';
const SECRET_PARTITION = 'nexus';
const SECRET_ROW = 'dashboardSecret';

/** What a login cookie says: which key (never the key itself), until when, and its CSRF nonce. */
export interface Login {
  /** `env:<fingerprint>` for a configured key, `key:<keyId>` for a created one. */
  readonly ref: string;
  readonly expiresAtMs: number;
  readonly nonce: string;
}

/**
 * Signed, expiring dashboard logins. The cookie holds a reference to the key that logged in, its
 * expiry and a nonce, with an HMAC-SHA256 over them; the key behind it is checked again on every
 * page, so a revoked key (or one removed from `NEXUS_API_KEYS`) logs its sessions out. The signing
 * secret is `NEXUS_DASHBOARD_SECRET` when set, else a random one kept in storage (created once,
 * shared by every instance of the app, as on Azure Functions).
 */
export class LoginSessions {
  private readonly storage: Storage;
  private readonly apiKeys: ApiKeys;
  private readonly keys: KeyStore;
  private readonly nowMs: () => number;
  private secret: Promise<Buffer> | undefined;

  constructor(deps: {
    storage: Storage;
    apiKeys: ApiKeys;
    keys: KeyStore;
    nowMs: () => number;
    secret?: string;
  }) {
    this.storage = deps.storage;
    this.apiKeys = deps.apiKeys;
    this.keys = deps.keys;
    this.nowMs = deps.nowMs;
    if (deps.secret !== undefined) this.secret = Promise.resolve(Buffer.from(deps.secret, 'utf8'));
  }

  /** The cookie value for a login by `presented`, the key that `principal` was found for. */
  async issue(principal: Principal, presented: string): Promise<{ value: string; login: Login }> {
    const ref =
      principal.keyId === 'env'
        ? `env:${this.apiKeys.fingerprintOf(presented) ?? ''}`
        : `key:${principal.keyId}`;
    const login: Login = {
      ref,
      expiresAtMs: this.nowMs() + LOGIN_TTL_MS,
      nonce: randomBytes(16).toString('base64url'),
    };
    const payload = Buffer.from(JSON.stringify(login), 'utf8').toString('base64url');
    return { value: `${payload}.${await this.sign(payload)}`, login };
  }

  /** The login a cookie holds and the principal it speaks for, if it is genuine and current. */
  async verify(
    value: string | undefined,
  ): Promise<{ login: Login; principal: Principal } | undefined> {
    if (value === undefined || value.length > 1000) return undefined;
    const [payload, mac, extra] = value.split('.');
    if (payload === undefined || mac === undefined || extra !== undefined) return undefined;
    if (!sameText(mac, await this.sign(payload))) return undefined;
    const login = parseLogin(payload);
    if (!login || login.expiresAtMs <= this.nowMs()) return undefined;
    const principal = await this.principalOf(login.ref);
    return principal === undefined ? undefined : { login, principal };
  }

  /** The token a form of this login carries: actions without it are refused (CSRF). */
  async csrfToken(login: Login): Promise<string> {
    return this.sign(`csrf:${login.nonce}`);
  }

  async checkCsrf(login: Login, token: string | undefined): Promise<boolean> {
    return token !== undefined && sameText(token, await this.csrfToken(login));
  }

  private async principalOf(ref: string): Promise<Principal | undefined> {
    if (ref.startsWith('env:'))
      return this.apiKeys.hasFingerprint(ref.slice(4))
        ? { role: 'admin', keyId: 'env' }
        : undefined;
    if (ref.startsWith('key:')) return this.keys.current(ref.slice(4));
    return undefined;
  }

  private async sign(text: string): Promise<string> {
    this.secret ??= loadSecret(this.storage);
    const secret = await this.secret.catch((error: unknown) => {
      this.secret = undefined; // a storage hiccup is not remembered: the next page tries again
      throw error;
    });
    return createHmac('sha256', secret).update(text, 'utf8').digest('base64url');
  }
}

/** The stored signing secret, created by whichever instance asks first. */
async function loadSecret(storage: Storage): Promise<Buffer> {
  const read = async () => {
    const row = await storage.tables.get(SECRET_TABLE, SECRET_PARTITION, SECRET_ROW);
    const value = row?.properties['secret'];
    return typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
  };
  const existing = await read();
  if (existing) return existing;
  const secret = randomBytes(32);
  try {
    await storage.tables.insert(SECRET_TABLE, {
      partitionKey: SECRET_PARTITION,
      rowKey: SECRET_ROW,
      properties: { secret: secret.toString('base64') },
    });
    return secret;
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    const raced = await read(); // another instance was first: use its secret
    if (!raced) throw error;
    return raced;
  }
}

function parseLogin(payload: string): Login | undefined {
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { ref, expiresAtMs, nonce } = value as Record<string, unknown>;
    if (typeof ref !== 'string' || typeof expiresAtMs !== 'number' || typeof nonce !== 'string')
      return undefined;
    return { ref, expiresAtMs, nonce };
  } catch {
    return undefined;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

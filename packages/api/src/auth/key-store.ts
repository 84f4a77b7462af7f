import {
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
  queryAll,
  type EntityValue,
  type Storage,
  type StoredEntity,
} from '@nexus/core';
import { hashSecret, keyIdOf, mintKey, sameHash } from './key-format.ts';
import type { HostSet, Principal, Role } from './principal.ts';

/**
 * The keys Nexus created, in the `keys` table (PK `key`, RK key id): the SHA-256 of the key, its
 * role and hosts, a label, when it was created and revoked. A key's last use is a row of its own
 * in `keyUse`, written at most once a minute, so a revocation never races with a use.
 *
 * Lookups are cached for `cacheMs` (default 5 s): a revocation takes effect at once in the process
 * that made it and within `cacheMs` in every other (Azure Functions instances, several servers).
 */
export const KEYS_PARTITION = 'key';
export const DEFAULT_KEY_CACHE_MS = 5_000;
const USE_RECORD_EVERY_MS = 60_000;
const KEY_ID = /^[a-z2-7]{12}$/;

export interface KeyRecord {
  readonly keyId: string;
  readonly role: Role;
  /** A worker key's host. */
  readonly hostId?: string;
  /** A reader key's hosts. */
  readonly hosts?: HostSet;
  readonly label: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
  readonly lastUsedAt?: string;
}

export interface NewKey {
  readonly role: Role;
  readonly hostId?: string;
  readonly hosts?: HostSet;
  readonly label?: string;
}

/** What a presented created key turned out to be. */
export type KeyLookup =
  | { readonly status: 'valid'; readonly principal: Principal }
  | { readonly status: 'revoked'; readonly keyId: string }
  | { readonly status: 'unknown' };

interface Cached {
  readonly row: StoredEntity | undefined;
  readonly until: number;
}

export class KeyStore {
  private readonly storage: Storage;
  private readonly now: () => Date;
  private readonly cacheMs: number;
  private readonly cache = new Map<string, Cached>();
  private readonly usesWritten = new Map<string, number>();
  private readonly onUseError: (error: unknown) => void;

  constructor(
    storage: Storage,
    options: { now: () => Date; cacheMs?: number; onUseError?: (error: unknown) => void },
  ) {
    this.storage = storage;
    this.now = options.now;
    this.cacheMs = options.cacheMs ?? DEFAULT_KEY_CACHE_MS;
    this.onUseError = options.onUseError ?? (() => undefined);
  }

  /** Creates a key; the whole key is in the answer and nowhere else. */
  async create(input: NewKey): Promise<{ key: string; record: KeyRecord }> {
    const minted = mintKey();
    const record: KeyRecord = {
      keyId: minted.id,
      role: input.role,
      ...(input.role === 'worker' && input.hostId !== undefined ? { hostId: input.hostId } : {}),
      ...(input.role === 'reader' ? { hosts: input.hosts ?? 'all' } : {}),
      label: input.label ?? '',
      createdAt: this.now().toISOString(),
    };
    await this.storage.tables.insert('keys', {
      partitionKey: KEYS_PARTITION,
      rowKey: minted.id,
      properties: { hash: minted.hash, ...recordProperties(record) },
    });
    this.cache.delete(minted.id);
    return { key: minted.secret, record };
  }

  async list(): Promise<KeyRecord[]> {
    const uses = new Map<string, string>();
    for await (const row of queryAll(this.storage.tables, 'keyUse', KEYS_PARTITION)) {
      const at = row.properties['lastUsedAt'];
      if (typeof at === 'string') uses.set(row.rowKey, at);
    }
    const records: KeyRecord[] = [];
    for await (const row of queryAll(this.storage.tables, 'keys', KEYS_PARTITION)) {
      const lastUsedAt = uses.get(row.rowKey);
      records.push({ ...recordOf(row), ...(lastUsedAt === undefined ? {} : { lastUsedAt }) });
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Marks a key revoked (the row stays, for the list); revoking twice keeps the first time. */
  async revoke(keyId: string): Promise<KeyRecord> {
    if (!KEY_ID.test(keyId))
      throw new ValidationError(
        'invalid_key_id',
        `${JSON.stringify(keyId.slice(0, 40))} is not a key id: it is the 12 characters after "nxk_" that "nexus keys list" shows.`,
      );
    for (;;) {
      const row = await this.storage.tables.get('keys', KEYS_PARTITION, keyId);
      if (!row)
        throw new NotFoundError(
          `There is no key ${keyId}; list keys with "nexus keys list".`,
          'key_not_found',
        );
      const record = recordOf(row);
      if (record.revokedAt !== undefined) return record;
      const revoked = { ...record, revokedAt: this.now().toISOString() };
      try {
        await this.storage.tables.update(
          'keys',
          {
            partitionKey: KEYS_PARTITION,
            rowKey: keyId,
            properties: { hash: String(row.properties['hash']), ...recordProperties(revoked) },
          },
          row.etag,
        );
      } catch (error) {
        if (error instanceof PreconditionFailedError) continue;
        throw error;
      }
      this.cache.delete(keyId);
      return revoked;
    }
  }

  /**
   * Looks a presented key up; `unknown` for anything that is not a created key. With
   * `cachedOnly`, a key whose row is not in the cache is `unknown` without reading storage: how a
   * throttled address is kept from making the store read for every guess.
   */
  async lookup(presented: string, options: { cachedOnly?: boolean } = {}): Promise<KeyLookup> {
    const keyId = keyIdOf(presented);
    if (keyId === undefined) return { status: 'unknown' };
    if (options.cachedOnly && !this.isCached(keyId)) return { status: 'unknown' };
    const row = await this.row(keyId);
    const hash = row?.properties['hash'];
    if (!row || typeof hash !== 'string' || !sameHash(hash, hashSecret(presented)))
      return { status: 'unknown' };
    const record = recordOf(row);
    if (record.revokedAt !== undefined) return { status: 'revoked', keyId };
    this.noteUse(keyId);
    return { status: 'valid', principal: principalOf(record) };
  }

  /**
   * The principal of a created key known by its id, as long as it exists and is not revoked: a
   * dashboard login, which keeps the key's id and not its secret, is re-checked with this on
   * every page (rows cached like `lookup`'s, so revocation takes effect within the cache time).
   */
  async current(keyId: string): Promise<Principal | undefined> {
    const row = await this.row(keyId);
    if (!row) return undefined;
    const record = recordOf(row);
    if (record.revokedAt !== undefined) return undefined;
    this.noteUse(keyId);
    return principalOf(record);
  }

  private isCached(keyId: string): boolean {
    return (this.cache.get(keyId)?.until ?? 0) > this.now().getTime();
  }

  private async row(keyId: string): Promise<StoredEntity | undefined> {
    const nowMs = this.now().getTime();
    const cached = this.cache.get(keyId);
    if (cached && cached.until > nowMs) return cached.row;
    const row = await this.storage.tables.get('keys', KEYS_PARTITION, keyId);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(keyId, { row, until: nowMs + this.cacheMs });
    return row;
  }

  private noteUse(keyId: string): void {
    const now = this.now();
    const last = this.usesWritten.get(keyId);
    if (last !== undefined && now.getTime() - last < USE_RECORD_EVERY_MS) return;
    this.usesWritten.set(keyId, now.getTime());
    this.storage.tables
      .upsert('keyUse', {
        partitionKey: KEYS_PARTITION,
        rowKey: keyId,
        properties: { lastUsedAt: now.toISOString() },
      })
      .catch((error: unknown) => {
        this.usesWritten.delete(keyId);
        this.onUseError(error);
      });
  }
}

export function principalOf(record: KeyRecord): Principal {
  switch (record.role) {
    case 'admin':
      return { role: 'admin', keyId: record.keyId };
    case 'worker':
      return { role: 'worker', keyId: record.keyId, hostId: record.hostId ?? '' };
    case 'reader':
      return { role: 'reader', keyId: record.keyId, hosts: record.hosts ?? 'all' };
  }
}

function recordProperties(record: KeyRecord): Record<string, EntityValue> {
  return {
    role: record.role,
    label: record.label,
    createdAt: record.createdAt,
    ...(record.hostId === undefined ? {} : { hostId: record.hostId }),
    ...(record.hosts === undefined ? {} : { hosts: JSON.stringify(record.hosts) }),
    ...(record.revokedAt === undefined ? {} : { revokedAt: record.revokedAt }),
  };
}

function recordOf(row: StoredEntity): KeyRecord {
  const p = row.properties;
  const role = p['role'] === 'worker' || p['role'] === 'reader' ? p['role'] : 'admin';
  const text = (name: string) => (typeof p[name] === 'string' ? p[name] : undefined);
  const hostId = text('hostId');
  const hosts = text('hosts');
  const revokedAt = text('revokedAt');
  return {
    keyId: row.rowKey,
    role,
    ...(hostId === undefined ? {} : { hostId }),
    ...(hosts === undefined ? {} : { hosts: JSON.parse(hosts) as HostSet }),
    label: text('label') ?? '',
    createdAt: text('createdAt') ?? '',
    ...(revokedAt === undefined ? {} : { revokedAt }),
  };
}

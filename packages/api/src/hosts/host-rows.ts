import {
  NotFoundError,
  insertIfAbsent,
  queryAll,
  type StoredEntity,
  type Storage,
} from '@nexus/core';

/**
 * The `hosts` rows, one per host in one partition (RK host id): when Nexus first heard of the
 * host, and what its worker last said about itself (`PUT /v1/hosts/{host}` at each start: a
 * display name and its version). The time of the host's last claim of webhooks is a row of its
 * own in `hostClaims`, so the two writers never race for one row.
 */
export const HOSTS_PARTITION = 'host';

export interface HostRow {
  readonly hostId: string;
  /** A display name; may differ from the id and change. */
  readonly name: string;
  readonly firstSeenAt: string;
  readonly workerVersion?: string;
  /** When its worker last announced itself. */
  readonly announcedAt?: string;
  readonly lastClaimAt?: string;
}

/** Display names are shown in lists: printable, at most 100 characters. */
export const MAX_HOST_NAME_LENGTH = 100;

/** A host with its last claim; `NotFoundError` when Nexus never heard of it. */
export async function requireHost(storage: Storage, hostId: string): Promise<HostRow> {
  const [row, claim] = await Promise.all([
    storage.tables.get('hosts', HOSTS_PARTITION, hostId),
    storage.tables.get('hostClaims', HOSTS_PARTITION, hostId),
  ]);
  if (!row)
    throw new NotFoundError(
      `There is no host ${hostId}: a host appears once its worker announced itself, uploaded, claimed or reported a run; list hosts with GET /v1/hosts.`,
      'host_not_found',
    );
  return hostOf(row, claim);
}

export async function listHostRows(storage: Storage): Promise<HostRow[]> {
  const claims = new Map<string, StoredEntity>();
  for await (const row of queryAll(storage.tables, 'hostClaims', HOSTS_PARTITION))
    claims.set(row.rowKey, row);
  const hosts: HostRow[] = [];
  for await (const row of queryAll(storage.tables, 'hosts', HOSTS_PARTITION))
    hosts.push(hostOf(row, claims.get(row.rowKey)));
  return hosts;
}

/**
 * Records what a worker says about its host at start. The first sighting time is kept; the rest
 * is replaced (the row is the worker's own).
 */
export async function announceHost(
  storage: Storage,
  hostId: string,
  said: { readonly name?: string; readonly workerVersion?: string },
  now: Date,
): Promise<HostRow> {
  const current = await storage.tables.get('hosts', HOSTS_PARTITION, hostId);
  const firstSeenAt = stringOf(current?.properties['firstSeenAt']) ?? now.toISOString();
  await storage.tables.upsert('hosts', {
    partitionKey: HOSTS_PARTITION,
    rowKey: hostId,
    properties: {
      firstSeenAt,
      announcedAt: now.toISOString(),
      ...(said.name === undefined ? {} : { name: said.name }),
      ...(said.workerVersion === undefined ? {} : { workerVersion: said.workerVersion }),
    },
  });
  return requireHost(storage, hostId);
}

/**
 * The host's last claim of webhooks (written at most once a minute per host, `ClaimRecorder`). A
 * host that only ever claims (webhooks, no uploads yet) is listed from its first claim on.
 */
export async function recordClaim(storage: Storage, hostId: string, at: Date): Promise<void> {
  await storage.tables.upsert('hostClaims', {
    partitionKey: HOSTS_PARTITION,
    rowKey: hostId,
    properties: { lastClaimAt: at.toISOString() },
  });
  await noteHost(storage, hostId, at.toISOString());
}

/** Makes a host known (its `hosts` row), first seen `at`; a known host is left as it is. */
export async function noteHost(storage: Storage, hostId: string, at: string): Promise<void> {
  await insertIfAbsent(storage.tables, 'hosts', {
    partitionKey: HOSTS_PARTITION,
    rowKey: hostId,
    properties: { firstSeenAt: at },
  });
}

function hostOf(row: StoredEntity, claim: StoredEntity | undefined): HostRow {
  const p = row.properties;
  const workerVersion = stringOf(p['workerVersion']);
  const announcedAt = stringOf(p['announcedAt']);
  const lastClaimAt = stringOf(claim?.properties['lastClaimAt']);
  return {
    hostId: row.rowKey,
    name: stringOf(p['name']) ?? row.rowKey,
    firstSeenAt: stringOf(p['firstSeenAt']) ?? '',
    ...(workerVersion === undefined ? {} : { workerVersion }),
    ...(announcedAt === undefined ? {} : { announcedAt }),
    ...(lastClaimAt === undefined ? {} : { lastClaimAt }),
  };
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

import {
  insertIfAbsent,
  NotFoundError,
  PreconditionFailedError,
  SCOPE_SEPARATOR,
  queryAll,
  type Entity,
  type Storage,
} from '@nexus/core';
import { ENDPOINTS_PARTITION } from '../webhooks/endpoint.ts';
import { AGENTS_PARTITION } from '../transcripts/keys.ts';
import { noteHost } from './host-rows.ts';

/**
 * Before 0.3 everything was keyed by agent alone: partitions and blob folders were bare agent ids.
 * On the first start of 0.3 that data moves to one host (`NEXUS_DEFAULT_HOST`, default `default`):
 *
 * 1. every row of an agent's partition is copied to `<host>~<agent>` (create-only: a row already
 *    copied, or written since, is kept);
 * 2. every blob under `transcripts/<agent>/`, `ledgers/<agent>/`, `webhooks/<agent>/` is copied to
 *    `<host>~<agent>` and then deleted;
 * 3. the old rows are deleted; the `agents` rows are renamed; endpoints get the host (the host's
 *    row was created before step 1);
 * 4. the row `nexus`/`hosts` records that it is done: later starts read that row and nothing more.
 *
 * Each step is idempotent, and nothing is deleted before its copy exists, so a crash at any point
 * is healed by the next start, which runs the upgrade again. Several instances starting at once
 * (Azure Functions) do the same create-only copies; the first to finish writes the marker.
 */
export const UPGRADE_TABLE = 'nexus';
export const UPGRADE_PARTITION = 'nexus';
export const UPGRADE_ROW = 'hosts';

/** The tables whose partitions are an agent's (bare id before 0.3, `<host>~<agent>` since). */
export const SCOPED_TABLES = [
  'generations',
  'sessions',
  'sessionsByTime',
  'agentActivity',
  'webhooks',
  'webhookQueue',
  'webhookExpiry',
] as const;

const BLOB_FOLDERS = ['transcripts/', 'ledgers/', 'webhooks/'] as const;
const CONCURRENCY = 16;
const COPY_CHUNK = 500;

export interface UpgradeReport {
  readonly hostId: string;
  readonly agents: readonly string[];
  readonly rows: number;
  readonly blobs: number;
}

/** Runs the upgrade unless its marker says it ran; `undefined` when there was nothing to do. */
export async function upgradeToHosts(
  storage: Storage,
  hostId: string,
  log: (message: string) => void = () => undefined,
): Promise<UpgradeReport | undefined> {
  const marker = await storage.tables.get(UPGRADE_TABLE, UPGRADE_PARTITION, UPGRADE_ROW);
  if (marker) return undefined;
  const { tables } = storage;
  const legacy = new Set<string>();
  for (const table of SCOPED_TABLES)
    for await (const partition of tables.partitions(table))
      if (!partition.includes(SCOPE_SEPARATOR)) legacy.add(partition);
  for await (const row of queryAll(tables, 'agents', AGENTS_PARTITION))
    if (!row.rowKey.includes(SCOPE_SEPARATOR)) legacy.add(row.rowKey);
  const target = (agentId: string) => `${hostId}${SCOPE_SEPARATOR}${agentId}`;

  let rows = 0;
  let blobs = 0;
  if (legacy.size > 0) {
    log(
      `Moving data stored before hosts existed (agents ${[...legacy].join(', ')}) to host ${hostId} (NEXUS_DEFAULT_HOST); this runs once.`,
    );
    // The host's row first: a crash after the old rows are gone still leaves the host listed.
    await noteHost(storage, hostId, await earliestUpload(storage, [...legacy]));
  }

  // 1. Copy the rows, a few hundred at a time (rows carry summaries and small ledgers: an agent's
  //    all at once could be gigabytes).
  for (const agentId of legacy) {
    for (const table of SCOPED_TABLES) {
      let copies: Entity[] = [];
      const copy = async () => {
        await eachLimited(copies, (entity) => insertIfAbsent(tables, table, entity));
        rows += copies.length;
        copies = [];
      };
      for await (const row of queryAll(tables, table, agentId)) {
        copies.push({
          partitionKey: target(agentId),
          rowKey: row.rowKey,
          properties: row.properties,
        });
        if (copies.length >= COPY_CHUNK) await copy();
      }
      await copy();
    }
    log(`  agent ${agentId}: rows copied to ${target(agentId)}`);
  }

  // 2. Move the blobs (copy, then delete the old one).
  for (const folder of BLOB_FOLDERS) {
    const keys: string[] = [];
    for await (const info of storage.blobs.list(folder)) {
      const [agentId] = info.key.slice(folder.length).split('/');
      if (agentId !== undefined && !agentId.includes(SCOPE_SEPARATOR)) keys.push(info.key);
    }
    await eachLimited(keys, async (key) => {
      const rest = key.slice(folder.length);
      const slash = rest.indexOf('/');
      const moved = `${folder}${target(rest.slice(0, slash))}${rest.slice(slash)}`;
      const { body } = await storage.blobs.get(key);
      await storage.blobs.putIfAbsent(moved, body);
      await storage.blobs.delete(key);
      blobs += 1;
      if (blobs % 1000 === 0) log(`  ${blobs} files moved`);
    });
  }

  // 3. Remove the old rows, rename the agents, give endpoints and the host their rows.
  for (const agentId of legacy) {
    for (const table of SCOPED_TABLES) {
      const keys: string[] = [];
      for await (const row of queryAll(tables, table, agentId)) keys.push(row.rowKey);
      await eachLimited(keys, (rowKey) => tables.delete(table, agentId, rowKey));
    }
    const agentRow = await tables.get('agents', AGENTS_PARTITION, agentId);
    await insertIfAbsent(tables, 'agents', {
      partitionKey: AGENTS_PARTITION,
      rowKey: target(agentId),
      properties: agentRow?.properties ?? { firstReceivedAt: new Date().toISOString() },
    });
    if (agentRow) await tables.delete('agents', AGENTS_PARTITION, agentId);
  }
  await moveEndpoints(storage, hostId);

  // 4. Done.
  const report: UpgradeReport = { hostId, agents: [...legacy].sort(), rows, blobs };
  await tables.upsert(UPGRADE_TABLE, {
    partitionKey: UPGRADE_PARTITION,
    rowKey: UPGRADE_ROW,
    properties: {
      hostId,
      at: new Date().toISOString(),
      agents: report.agents.join(','),
      rows,
      blobs,
    },
  });
  if (legacy.size > 0)
    log(`Moved ${rows} rows and ${blobs} files of ${legacy.size} agent(s) to host ${hostId}.`);
  return report;
}

/** Endpoints from before hosts name none: theirs is the host the data moved to. */
async function moveEndpoints(storage: Storage, hostId: string): Promise<void> {
  for await (const row of queryAll(storage.tables, 'endpoints', ENDPOINTS_PARTITION)) {
    const endpoint = JSON.parse(String(row.properties['json'])) as Record<string, unknown>;
    if (typeof endpoint['hostId'] === 'string') continue;
    const { id, ...rest } = endpoint;
    try {
      await storage.tables.update(
        'endpoints',
        {
          ...row,
          properties: { ...row.properties, json: JSON.stringify({ id, hostId, ...rest }) },
        },
        row.etag,
      );
    } catch (error) {
      // Changed or deleted meanwhile by another instance's upgrade: it has its host, or is gone.
      if (!(error instanceof PreconditionFailedError) && !(error instanceof NotFoundError))
        throw error;
    }
  }
}

/** The earliest upload of these agents (their `agents` rows, under either key), else now. */
async function earliestUpload(storage: Storage, agentIds: readonly string[]): Promise<string> {
  const times: string[] = [];
  for (const key of agentIds) {
    const row = await storage.tables.get('agents', AGENTS_PARTITION, key);
    const at = row?.properties['firstReceivedAt'] ?? row?.properties['lastReceivedAt'];
    if (typeof at === 'string') times.push(at);
  }
  return times.sort()[0] ?? new Date().toISOString();
}

/**
 * `work` on each item, `CONCURRENCY` at a time. After a failure no lane takes another item, and
 * the call settles only once every lane has stopped: nothing of the upgrade still runs when it
 * reports the failure (a retry would race with it).
 */
async function eachLimited<T>(
  items: readonly T[],
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const lanes = await Promise.allSettled(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, lane),
  );
  const rejected = lanes.find((result) => result.status === 'rejected');
  if (rejected) throw rejected.reason;
}

import type { TableClient } from '@azure/data-tables';
import { MAX_TRANSACTION_WRITES, type TableStore, type TableWrite } from '@nexus/core';
import { azureStatus, translateAzureError } from './azure-errors.ts';
import { fromAzure } from './azure-table-store.ts';

/**
 * In 0.1 each logical table was an Azure table of its own (`<prefix>sessions`, ...). Since
 * then all live in `<prefix>rows`, which lets a session's first rows be written in one
 * transaction. These are the tables of the old layout, copied once into the new one.
 */
export const LEGACY_TABLES = [
  'agents',
  'sessions',
  'sessionsByTime',
  'generations',
  'endpoints',
  'webhooks',
  'webhookQueue',
  'webhookExpiry',
] as const;

/** The row that says the copy is complete; its row key has no `|`, so no table's row is it. */
export const LAYOUT_PARTITION = 'nexus';
export const LAYOUT_ROW = 'layout';

export interface LegacyCopy {
  /** Rows read from the old tables. */
  readonly rows: number;
  /** The old tables that held rows (left in place: delete them once the new layout serves). */
  readonly tables: readonly string[];
}

/**
 * Copies every row of the old per-table layout into the one table, unless the layout row says
 * that was done. Create-only: a row already in the new table (written by an instance that
 * finished copying first) is newer and stays. Rows are sent in transactions of up to 100 per
 * partition; a transaction refused for a conflict is retried row by row.
 */
export async function copyLegacyTables(
  target: TableClient,
  store: TableStore,
  legacyClient: (table: string) => TableClient,
  progress: (message: string) => void,
): Promise<LegacyCopy | undefined> {
  try {
    await target.getEntity(LAYOUT_PARTITION, LAYOUT_ROW);
    return undefined;
  } catch (error) {
    if (azureStatus(error) !== 404) throw translateAzureError(error, 'the storage layout row');
  }
  let rows = 0;
  const tables: string[] = [];
  for (const table of LEGACY_TABLES) {
    const client = legacyClient(table);
    let copied = 0;
    try {
      for await (const page of client.listEntities().byPage({ maxPageSize: 1000 })) {
        const byPartition = new Map<string, TableWrite[]>();
        for (const row of page) {
          const entity = fromAzure(undefined, row);
          const writes = byPartition.get(entity.partitionKey) ?? [];
          writes.push({ op: 'insert', table, entity });
          byPartition.set(entity.partitionKey, writes);
        }
        for (const writes of byPartition.values()) {
          for (let i = 0; i < writes.length; i += MAX_TRANSACTION_WRITES) {
            await insertIfAbsent(store, writes.slice(i, i + MAX_TRANSACTION_WRITES));
          }
        }
        copied += page.length;
        if (page.length > 0) progress(`copied ${copied} rows of ${client.tableName}`);
      }
    } catch (error) {
      if (azureStatus(error) === 404) continue; // this old table never existed
      throw translateAzureError(error, `copying ${client.tableName} into the one-table layout`);
    }
    if (copied > 0) tables.push(client.tableName);
    rows += copied;
  }
  await target
    .createEntity({
      partitionKey: LAYOUT_PARTITION,
      rowKey: LAYOUT_ROW,
      layout: 'one table',
      copiedRows: { value: String(rows), type: 'Double' },
      copiedAt: new Date().toISOString(),
    })
    .catch((error: unknown) => {
      if (azureStatus(error) !== 409) throw translateAzureError(error, 'the storage layout row');
    });
  return { rows, tables };
}

async function insertIfAbsent(store: TableStore, writes: readonly TableWrite[]): Promise<void> {
  if (await store.transact(writes)) return;
  for (const write of writes) await store.transact([write]);
}

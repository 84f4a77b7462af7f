import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import {
  AlreadyExistsError,
  NotFoundError,
  PreconditionFailedError,
  InvalidCursorError,
  checkEntity,
  checkTableKey,
  checkTransaction,
  keyOfWrite,
  type Entity,
  type TableWrite,
  type EntityValue,
  type Page,
  type QueryOptions,
  type StoredEntity,
  type TableStore,
} from '@nexus/core';
import { azureStatus, translateAzureError } from './azure-errors.ts';
import { EntityBatchSender, type BatchWrite } from './entity-batch.ts';
import { StorageRecreator } from './missing-storage.ts';

const MAX_PAGE = 1000;
const SYSTEM_FIELDS = new Set(['partitionKey', 'rowKey', 'etag', 'timestamp', 'odata.metadata']);

/**
 * Rows in one Azure table: every logical table of the contract lives in it, a row's key prefixed
 * with its table's name (`sessions|<session>`), as the embedded store keeps them in one SQLite
 * table. So rows of one partition key are in one Azure partition whatever their table, and
 * `transact` can be one entity-group transaction (docs/ARCHITECTURE.md, "Storage layout").
 *
 * Numbers are written as `Edm.Double`: left untyped, the service stores integers as Int32 and
 * refuses anything past 2^31 (token counts and byte sizes get there).
 */
export class AzureTableStore implements TableStore {
  private readonly client: TableClient;
  private readonly batches: EntityBatchSender;
  /** Every call goes through it: a table deleted under a running API is created again. */
  private readonly table: StorageRecreator;

  constructor(client: TableClient, options: { allowInsecureConnection?: boolean } = {}) {
    this.client = client;
    this.batches = new EntityBatchSender(client, options);
    this.table = new StorageRecreator(`Table ${client.tableName}`, () => client.createTable());
  }

  async insert(table: string, entity: Entity): Promise<string> {
    checkEntity(entity);
    try {
      const response = await this.table.run(() => this.client.createEntity(toAzure(table, entity)));
      return response.etag ?? '';
    } catch (error) {
      throw translateAzureError(error, `row ${entity.partitionKey}/${entity.rowKey} in ${table}`);
    }
  }

  /** One entity-group transaction (one request); Azure refuses it whole on the first conflict. */
  async transact(writes: readonly TableWrite[]): Promise<readonly string[] | false> {
    checkTransaction(writes);
    const [first] = writes;
    const partitionKey = first ? keyOfWrite(first).partitionKey : '';
    try {
      const batch = writes.map((write): BatchWrite => {
        if (write.op === 'delete') {
          const rowKey = physicalKey(write.table, write.key.rowKey);
          return write.etag === undefined
            ? { op: 'delete', rowKey }
            : { op: 'delete', rowKey, etag: write.etag };
        }
        const rowKey = physicalKey(write.table, write.entity.rowKey);
        const json = toODataJson(write.table, write.entity);
        return write.op === 'update'
          ? { op: 'update', rowKey, json, etag: write.etag }
          : { op: write.op, rowKey, json };
      });
      return await this.table.run(() => this.batches.send(partitionKey, batch));
    } catch (error) {
      const translated = translateAzureError(error, `a transaction on rows of ${partitionKey}`);
      // A row an update or delete names is gone: 404 (a missing table is not: it translates to
      // a 503).
      const updatedRowGone =
        translated instanceof NotFoundError &&
        writes.some((write) => write.op === 'update' || write.op === 'delete');
      if (
        translated instanceof AlreadyExistsError ||
        translated instanceof PreconditionFailedError ||
        updatedRowGone
      ) {
        return false;
      }
      throw translated;
    }
  }

  async upsert(table: string, entity: Entity): Promise<string> {
    checkEntity(entity);
    try {
      const response = await this.table.run(() =>
        this.client.upsertEntity(toAzure(table, entity), 'Replace'),
      );
      return response.etag ?? '';
    } catch (error) {
      throw translateAzureError(error, `row ${entity.partitionKey}/${entity.rowKey} in ${table}`);
    }
  }

  async get(
    table: string,
    partitionKey: string,
    rowKey: string,
  ): Promise<StoredEntity | undefined> {
    checkTableKey('partition key', partitionKey);
    checkTableKey('row key', rowKey);
    try {
      return fromAzure(
        table,
        await this.table.run(() => this.client.getEntity(partitionKey, physicalKey(table, rowKey))),
      );
    } catch (error) {
      if (azureStatus(error) === 404) return undefined;
      throw translateAzureError(error, `row ${partitionKey}/${rowKey} in ${table}`);
    }
  }

  async update(table: string, entity: Entity, etag: string): Promise<string> {
    checkEntity(entity);
    try {
      const response = await this.table.run(() =>
        this.client.updateEntity(toAzure(table, entity), 'Replace', { etag }),
      );
      return response.etag ?? '';
    } catch (error) {
      throw translateAzureError(error, `row ${entity.partitionKey}/${entity.rowKey} in ${table}`);
    }
  }

  async delete(table: string, partitionKey: string, rowKey: string, etag?: string): Promise<void> {
    checkTableKey('partition key', partitionKey);
    checkTableKey('row key', rowKey);
    try {
      await this.table.run(() =>
        this.client.deleteEntity(
          partitionKey,
          physicalKey(table, rowKey),
          etag === undefined ? {} : { etag },
        ),
      );
    } catch (error) {
      if (azureStatus(error) === 404) return;
      throw translateAzureError(error, `row ${partitionKey}/${rowKey} in ${table}`);
    }
  }

  async query(
    table: string,
    partitionKey: string,
    options: QueryOptions = {},
  ): Promise<Page<StoredEntity>> {
    checkTableKey('partition key', partitionKey);
    const limit = Math.min(Math.max(options.limit ?? MAX_PAGE, 1), MAX_PAGE);
    if (options.cursor !== undefined) checkContinuationToken(options.cursor);
    // The table's rows are the keys from `<table>|` up to `<table>}` (`}` follows `|`).
    const from = physicalKey(table, options.rowKeyFrom ?? '');
    const to = options.rowKeyTo === undefined ? `${table}}` : physicalKey(table, options.rowKeyTo);
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${from} and RowKey lt ${to}`;
    try {
      const first = await this.table.run(() =>
        this.client
          .listEntities({ queryOptions: { filter } })
          .byPage({
            maxPageSize: limit,
            ...(options.cursor === undefined ? {} : { continuationToken: options.cursor }),
          })
          .next(),
      );
      if (first.done) return { items: [] };
      const page = first.value;
      const items = page.map((row) => fromAzure(table, row));
      return page.continuationToken ? { items, cursor: page.continuationToken } : { items };
    } catch (error) {
      throw translateAzureError(error, `rows of ${partitionKey} in ${table}`);
    }
  }

  async *partitions(table: string): AsyncGenerator<string> {
    const filter = odata`RowKey ge ${`${table}|`} and RowKey lt ${`${table}}`}`;
    const seen = new Set<string>();
    try {
      const rows = this.client.listEntities({
        queryOptions: { filter, select: ['PartitionKey'] },
      });
      for await (const row of rows) {
        const key = row.partitionKey;
        if (typeof key !== 'string' || seen.has(key)) continue;
        seen.add(key);
        yield key;
      }
    } catch (error) {
      throw translateAzureError(error, `the partitions of ${table}`);
    }
  }
}

/**
 * The SDK's continuation token is base64 JSON naming the next keys; anything else came from a
 * client's mistake and must be a 400, not an SDK parse failure.
 */
function checkContinuationToken(cursor: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('nextPartitionKey' in parsed)) {
    throw new InvalidCursorError();
  }
}

type AzureValue = string | boolean | { value: string; type: 'Double' };

/** The row key in the Azure table: the logical table's name, `|`, the row key. */
export function physicalKey(table: string, rowKey: string): string {
  return `${table}|${rowKey}`;
}

function toAzure(
  table: string,
  entity: Entity,
): Record<string, AzureValue> & { partitionKey: string; rowKey: string } {
  const row: Record<string, AzureValue> & { partitionKey: string; rowKey: string } = {
    partitionKey: entity.partitionKey,
    rowKey: physicalKey(table, entity.rowKey),
  };
  for (const [name, value] of Object.entries(entity.properties)) {
    row[name] = typeof value === 'number' ? { value: String(value), type: 'Double' } : value;
  }
  return row;
}

/** `toAzure`'s row as the service's JSON, where a typed value carries `<name>@odata.type`. */
function toODataJson(table: string, entity: Entity): string {
  const { partitionKey, rowKey, ...properties } = toAzure(table, entity);
  const row: Record<string, string | boolean> = { PartitionKey: partitionKey, RowKey: rowKey };
  for (const [name, value] of Object.entries(properties)) {
    if (typeof value === 'object') {
      row[name] = value.value;
      row[`${name}@odata.type`] = `Edm.${value.type}`;
    } else {
      row[name] = value;
    }
  }
  return JSON.stringify(row);
}

/** A row as the contract sees it; `table` undefined for a row of the old layout (no prefix). */
export function fromAzure(
  table: string | undefined,
  row: TableEntityResult<Record<string, unknown>>,
): StoredEntity {
  const properties: Record<string, EntityValue> = {};
  for (const [name, value] of Object.entries(row)) {
    if (SYSTEM_FIELDS.has(name)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      properties[name] = value;
    }
  }
  return {
    partitionKey: row.partitionKey ?? '',
    rowKey: (row.rowKey ?? '').slice(table === undefined ? 0 : table.length + 1),
    etag: row.etag,
    properties: properties,
  };
}

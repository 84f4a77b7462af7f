import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import {
  AlreadyExistsError,
  ValidationError,
  checkEntity,
  checkTableKey,
  type Entity,
  type OrderedInsert,
  type EntityValue,
  type Page,
  type QueryOptions,
  type StoredEntity,
  type TableStore,
} from '@nexus/core';
import { azureStatus, translateAzureError } from './azure-errors.ts';

const MAX_PAGE = 1000;
const SYSTEM_FIELDS = new Set(['partitionKey', 'rowKey', 'etag', 'timestamp', 'odata.metadata']);

/**
 * Rows in Azure Table Storage, one `TableClient` per table. Numbers are written as `Edm.Double`:
 * left untyped, the service stores integers as Int32 and refuses anything past 2^31 (token counts
 * and byte sizes get there).
 */
export class AzureTableStore implements TableStore {
  private readonly clientFor: (table: string) => TableClient;

  constructor(clientFor: (table: string) => TableClient) {
    this.clientFor = clientFor;
  }

  async insert(table: string, entity: Entity): Promise<string> {
    checkEntity(entity);
    try {
      const response = await this.clientFor(table).createEntity(toAzure(entity));
      return response.etag ?? '';
    } catch (error) {
      throw translateAzureError(error, `row ${entity.partitionKey}/${entity.rowKey} in ${table}`);
    }
  }

  /** Azure has no transaction across tables: one insert after the other, each durable when answered. */
  async insertInOrder(rows: readonly OrderedInsert[]): Promise<boolean[]> {
    const created: boolean[] = [];
    for (const row of rows) {
      try {
        await this.insert(row.table, row.entity);
        created.push(true);
      } catch (error) {
        if (!(row.ifAbsent && error instanceof AlreadyExistsError)) throw error;
        created.push(false);
      }
    }
    return created;
  }

  async upsert(table: string, entity: Entity): Promise<string> {
    checkEntity(entity);
    try {
      const response = await this.clientFor(table).upsertEntity(toAzure(entity), 'Replace');
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
      return fromAzure(await this.clientFor(table).getEntity(partitionKey, rowKey));
    } catch (error) {
      if (azureStatus(error) === 404) return undefined;
      throw translateAzureError(error, `row ${partitionKey}/${rowKey} in ${table}`);
    }
  }

  async update(table: string, entity: Entity, etag: string): Promise<string> {
    checkEntity(entity);
    try {
      const response = await this.clientFor(table).updateEntity(toAzure(entity), 'Replace', {
        etag,
      });
      return response.etag ?? '';
    } catch (error) {
      throw translateAzureError(error, `row ${entity.partitionKey}/${entity.rowKey} in ${table}`);
    }
  }

  async delete(table: string, partitionKey: string, rowKey: string, etag?: string): Promise<void> {
    checkTableKey('partition key', partitionKey);
    checkTableKey('row key', rowKey);
    try {
      await this.clientFor(table).deleteEntity(
        partitionKey,
        rowKey,
        etag === undefined ? {} : { etag },
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
    let filter = odata`PartitionKey eq ${partitionKey}`;
    if (options.rowKeyFrom !== undefined) filter += odata` and RowKey ge ${options.rowKeyFrom}`;
    if (options.rowKeyTo !== undefined) filter += odata` and RowKey lt ${options.rowKeyTo}`;
    try {
      const pages = this.clientFor(table)
        .listEntities({ queryOptions: { filter } })
        .byPage({
          maxPageSize: limit,
          ...(options.cursor === undefined ? {} : { continuationToken: options.cursor }),
        });
      const first = await pages.next();
      if (first.done) return { items: [] };
      const page = first.value;
      const items = page.map((row) => fromAzure(row));
      return page.continuationToken ? { items, cursor: page.continuationToken } : { items };
    } catch (error) {
      throw translateAzureError(error, `rows of ${partitionKey} in ${table}`);
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
    throw new ValidationError(
      'invalid_cursor',
      'The cursor is not one this server issued; start again without a cursor.',
    );
  }
}

type AzureValue = string | boolean | { value: string; type: 'Double' };

function toAzure(
  entity: Entity,
): Record<string, AzureValue> & { partitionKey: string; rowKey: string } {
  const row: Record<string, AzureValue> & { partitionKey: string; rowKey: string } = {
    partitionKey: entity.partitionKey,
    rowKey: entity.rowKey,
  };
  for (const [name, value] of Object.entries(entity.properties)) {
    row[name] = typeof value === 'number' ? { value: String(value), type: 'Double' } : value;
  }
  return row;
}

function fromAzure(row: TableEntityResult<Record<string, unknown>>): StoredEntity {
  const properties: Record<string, EntityValue> = {};
  for (const [name, value] of Object.entries(row)) {
    if (SYSTEM_FIELDS.has(name)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      properties[name] = value;
    }
  }
  return {
    partitionKey: row.partitionKey ?? '',
    rowKey: row.rowKey ?? '',
    etag: row.etag,
    properties: properties,
  };
}

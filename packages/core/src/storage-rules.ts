import { ValidationError } from './errors.ts';
import { keyOfWrite, MAX_TRANSACTION_WRITES, type Entity, type TableWrite } from './storage.ts';

/**
 * Azure Table Storage limits (learn.microsoft.com, "Understanding the Table service data model"):
 * an entity holds at most 252 custom properties and 1 MiB in all; a string property at most
 * 64 KiB (32 K UTF-16 characters); keys at most 1 KiB without `/ \ # ?` or control characters.
 * Azurite does not enforce all of these, so both backends check them here, and the embedded
 * backend cannot accept a row that Azure would refuse.
 */
export const TABLE_LIMITS = {
  maxProperties: 252,
  maxEntityBytes: 1024 * 1024,
  maxStringChars: 32 * 1024,
  // Azure allows 512; the Azure store puts the table's name (at most 31 characters) and `|` ahead
  // of each row key (docs/ARCHITECTURE.md, "Storage layout").
  maxKeyChars: 480,
} as const;

// eslint-disable-next-line no-control-regex -- control characters are exactly what Azure forbids
const FORBIDDEN_KEY_CHARS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;
const PROPERTY_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const RESERVED = new Set(['PartitionKey', 'RowKey', 'Timestamp', 'etag', 'odata']);

export function checkEntity(entity: Entity): void {
  checkTableKey('partition key', entity.partitionKey);
  checkTableKey('row key', entity.rowKey);
  const names = Object.keys(entity.properties);
  if (names.length > TABLE_LIMITS.maxProperties) {
    throw new ValidationError(
      'entity_too_many_properties',
      `A row may hold at most ${TABLE_LIMITS.maxProperties} properties; this one has ${names.length}.`,
    );
  }
  // Size as Azure counts it: 4 bytes overhead per property, names and strings in UTF-16.
  let bytes = 4 + 2 * (entity.partitionKey.length + entity.rowKey.length);
  for (const name of names) {
    if (!PROPERTY_NAME.test(name) || RESERVED.has(name)) {
      throw new ValidationError(
        'invalid_property_name',
        `${JSON.stringify(name)} is not a usable property name.`,
      );
    }
    const value = entity.properties[name];
    bytes += 8 + 2 * name.length;
    if (typeof value === 'string') {
      if (value.length > TABLE_LIMITS.maxStringChars) {
        throw new ValidationError(
          'entity_property_too_large',
          `Property ${name} holds ${value.length} characters; a table property holds at most ${TABLE_LIMITS.maxStringChars}.`,
        );
      }
      bytes += 4 + 2 * value.length;
    } else if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ValidationError(
        'invalid_property_value',
        `Property ${name} is not a finite number.`,
      );
    } else {
      bytes += 8;
    }
  }
  if (bytes > TABLE_LIMITS.maxEntityBytes) {
    throw new ValidationError(
      'entity_too_large',
      `A row may hold at most 1 MiB; this one needs about ${Math.ceil(bytes / 1024)} KiB.`,
    );
  }
}

export function checkTableKey(what: string, key: string): void {
  if (key.length === 0 || key.length > TABLE_LIMITS.maxKeyChars || FORBIDDEN_KEY_CHARS.test(key)) {
    throw new ValidationError(
      'invalid_table_key',
      `The ${what} ${JSON.stringify(key.slice(0, 80))} is not allowed: 1 to ${TABLE_LIMITS.maxKeyChars} characters without / \\ # ? or control characters.`,
    );
  }
}

/** `~` joins a host and an agent id in one segment (`laptop~main`, `scopeKey`). */
const BLOB_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._~-]*$/;

/** Blob keys are `/`-separated safe segments: they become file paths in the embedded backend. */
export function checkBlobKey(key: string): string[] {
  const segments = key.split('/');
  if (key.length > 1024 || segments.some((s) => !BLOB_SEGMENT.test(s) || s.includes('..'))) {
    throw new ValidationError(
      'invalid_blob_key',
      `The blob key ${JSON.stringify(key.slice(0, 80))} is not allowed: '/'-separated segments of letters, digits, '.', '_', '~' and '-'.`,
    );
  }
  return segments;
}

/**
 * What Azure requires of an entity-group transaction, checked on both backends so that code
 * which works on the embedded store works on Azure: 1 to 100 writes, one partition key, each row
 * once. A breach is a bug in the caller, not bad input.
 */
export function checkTransaction(writes: readonly TableWrite[]): void {
  const [first] = writes;
  if (first === undefined || writes.length > MAX_TRANSACTION_WRITES) {
    throw new Error(
      `A transaction holds 1 to ${MAX_TRANSACTION_WRITES} writes, not ${writes.length}.`,
    );
  }
  const rows = new Set<string>();
  const partitionKey = keyOfWrite(first).partitionKey;
  for (const write of writes) {
    const key = keyOfWrite(write);
    if (key.partitionKey !== partitionKey) {
      throw new Error(
        `A transaction writes one partition key; ${JSON.stringify(key.partitionKey)} is not ${JSON.stringify(partitionKey)}.`,
      );
    }
    const row = `${write.table}|${key.rowKey}`;
    if (rows.has(row)) throw new Error(`A transaction writes row ${row} twice.`);
    rows.add(row);
    if (write.op === 'delete') {
      checkTableKey('partition key', key.partitionKey);
      checkTableKey('row key', key.rowKey);
    } else checkEntity(write.entity);
  }
}

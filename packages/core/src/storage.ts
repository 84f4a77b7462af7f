/**
 * The storage contract: the narrow set of operations the domain needs from a blob store and a
 * table store. Two backends implement it (Azure Storage, and the embedded data folder); one
 * conformance suite holds both to it.
 *
 * Errors: backends throw the project's own errors (`AlreadyExistsError`, `PreconditionFailedError`,
 * `NotFoundError`, `UnavailableError`), never SDK errors.
 */

import { AlreadyExistsError } from './errors.ts';

/** A blob's content is any async sequence of byte chunks (a Node `Readable` is one). */
export type ByteSource = AsyncIterable<Uint8Array>;

/** A file on this machine, stored whole: the embedded store has the kernel copy it. */
export interface FileSource {
  readonly file: string;
}

/** What a blob is written from: a stream, bytes in memory, or a file. */
export type BlobSource = ByteSource | Uint8Array | FileSource;

export function isFileSource(source: BlobSource): source is FileSource {
  return !(source instanceof Uint8Array) && 'file' in source;
}

/** Bytes in memory as a one-chunk source, for code written for streams. */
export async function* sourceOf(source: ByteSource | Uint8Array): ByteSource {
  if (source instanceof Uint8Array) yield source;
  else yield* source;
}

export interface BlobInfo {
  readonly key: string;
  readonly size: number;
}

export interface PutBlobOptions {
  /** A hint for backends that keep one (Azure shows it in the portal); not part of the contract. */
  readonly contentType?: string;
}

export interface PutBlobResult {
  /** `true` when this call stored the blob; `false` when a blob with this key was already there. */
  readonly created: boolean;
  readonly size: number;
}

export interface BlobStore {
  /**
   * Create-only write from a stream, from bytes already in memory (and already checked), or from
   * a file. The blob becomes visible only once the whole source was read and made durable. If the source
   * throws, nothing is stored and the error propagates: callers validate content by throwing from
   * the source. If a blob with this key exists, the call still consumes the source (so its checks
   * run) and answers `created: false` without overwriting; `size` is then the number of bytes the
   * source yielded.
   */
  putIfAbsent(key: string, source: BlobSource, options?: PutBlobOptions): Promise<PutBlobResult>;
  /**
   * Streams a blob's bytes, from byte `start` on when given (less than its size: a ranged read);
   * `info.size` is the whole blob's. `NotFoundError` when absent.
   */
  get(
    key: string,
    options?: { readonly start?: number },
  ): Promise<{ readonly info: BlobInfo; readonly body: ByteSource }>;
  head(key: string): Promise<BlobInfo | undefined>;
  /** Every blob whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Removes a blob; absent blobs are not an error. */
  delete(key: string): Promise<void>;
}

/** Table values are flat; nested data is stored as JSON text by the layer above. */
export type EntityValue = string | number | boolean;
export type EntityProperties = Readonly<Record<string, EntityValue>>;

export interface Entity {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly properties: EntityProperties;
}

export interface StoredEntity extends Entity {
  readonly etag: string;
}

export interface QueryOptions {
  /** Inclusive lower bound on the row key. */
  readonly rowKeyFrom?: string;
  /** Exclusive upper bound on the row key. */
  readonly rowKeyTo?: string;
  /** Page size; backends may return fewer. */
  readonly limit?: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Present when more items may follow. */
  readonly cursor?: string;
}

/** One write of a transaction (`TableStore.transact`). */
export type TableWrite =
  /** Create-only. */
  | { readonly op: 'insert'; readonly table: string; readonly entity: Entity }
  /** Creates or replaces. */
  | { readonly op: 'upsert'; readonly table: string; readonly entity: Entity }
  /** Replaces the row only while its ETag still matches. */
  | {
      readonly op: 'update';
      readonly table: string;
      readonly entity: Entity;
      readonly etag: string;
    }
  /**
   * Removes a row that exists (with an ETag, only as it was then). Unlike `TableStore.delete`, a
   * row that is gone fails the transaction: that is what Azure does inside one.
   */
  | {
      readonly op: 'delete';
      readonly table: string;
      readonly key: RowKey;
      readonly etag?: string;
    };

/** Where a row is: its partition and row key. */
export interface RowKey {
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** The row a transaction's write names. */
export function keyOfWrite(write: TableWrite): RowKey {
  return write.op === 'delete' ? write.key : write.entity;
}

/** Azure's entity-group transactions take at most 100 operations. */
export const MAX_TRANSACTION_WRITES = 100;

export interface TableStore {
  /** Create-only; `AlreadyExistsError` when the row exists. Returns the new ETag. */
  insert(table: string, entity: Entity): Promise<string>;
  /**
   * Writes rows of one partition key (in any tables) all together or not at all, resolved once
   * durable: Azure's entity-group transaction. Resolves with each write's new ETag, in order
   * (`''` for a delete); `false`, with nothing written, when a row an `insert` names exists
   * already, or the row an `update` or `delete` names changed or is gone. At most
   * `MAX_TRANSACTION_WRITES` writes, each row once (`checkTransaction`).
   */
  transact(writes: readonly TableWrite[]): Promise<readonly string[] | false>;
  /** Create or replace, unconditionally. Returns the new ETag. */
  upsert(table: string, entity: Entity): Promise<string>;
  get(table: string, partitionKey: string, rowKey: string): Promise<StoredEntity | undefined>;
  /**
   * Replace an existing row only if its ETag still matches: `PreconditionFailedError` when it
   * changed, `NotFoundError` when the row is gone. Returns the new ETag.
   */
  update(table: string, entity: Entity, etag: string): Promise<string>;
  /** Remove a row; with an ETag, only if it still matches. Absent rows are not an error. */
  delete(table: string, partitionKey: string, rowKey: string, etag?: string): Promise<void>;
  /** Rows of one partition in ascending row-key order, one page at a time. */
  query(table: string, partitionKey: string, options?: QueryOptions): Promise<Page<StoredEntity>>;
  /**
   * Every partition key holding rows of `table`, each once, in no particular order. On Azure this
   * reads every row of the table: for maintenance (the upgrade to hosts), not for requests.
   */
  partitions(table: string): AsyncIterable<string>;
}

export interface Storage {
  readonly blobs: BlobStore;
  readonly tables: TableStore;
  /** A cheap round trip that proves the backend answers; throws `UnavailableError` otherwise. */
  check(): Promise<void>;
  close(): Promise<void>;
  /** Human-readable description for logs, e.g. the data folder or the account name. */
  readonly description: string;
}

/**
 * Every row of one partition of a table (within the range of `options`), page after page: the
 * loop over `TableStore.query` cursors written once.
 */
export async function* queryAll(
  tables: TableStore,
  table: string,
  partitionKey: string,
  options: Omit<QueryOptions, 'cursor'> = {},
): AsyncGenerator<StoredEntity> {
  let cursor: string | undefined;
  do {
    const page = await tables.query(table, partitionKey, {
      ...options,
      ...(cursor === undefined ? {} : { cursor }),
    });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/**
 * A create-only write that leaves an existing row as it is: `true` when this call wrote it. For
 * rows written once by whoever comes first (an index row, the first sighting of a host).
 */
export async function insertIfAbsent(
  tables: TableStore,
  table: string,
  entity: Entity,
): Promise<boolean> {
  try {
    await tables.insert(table, entity);
    return true;
  } catch (error) {
    if (error instanceof AlreadyExistsError) return false;
    throw error;
  }
}

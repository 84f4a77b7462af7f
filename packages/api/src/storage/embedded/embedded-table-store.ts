import { randomUUID } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  AlreadyExistsError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
  InvalidCursorError,
  checkEntity,
  checkTransaction,
  coerceError,
  checkTableKey,
  type Entity,
  type TableWrite,
  type EntityProperties,
  type Page,
  type QueryOptions,
  type StoredEntity,
  type TableStore,
} from '@nexus/core';
import { SyncGroup } from './sync-group.ts';
import { WalCheckpointer } from './wal-checkpointer.ts';

const MAX_PAGE = 1000;

interface Row {
  pk: string;
  rk: string;
  etag: string;
  props: string;
}

/**
 * Table rows in one SQLite database (`<root>/tables.sqlite`) in WAL mode. A write resolves only
 * once its commit is on disk, so a `kill -9` or a power cut loses nothing acknowledged. ETags are
 * random per write, as Azure's are opaque.
 *
 * Durability without blocking: `node:sqlite` is synchronous, and with `synchronous=FULL` every
 * commit would fsync the WAL on the event loop (the API's largest cost in bench B1). Instead
 * commits run with `synchronous=NORMAL` and the store fsyncs the `-wal` file itself through an
 * async handle on the thread pool before resolving; writers that committed before a sync starts
 * share it (group commit). Once the committed frames are synced the write is as durable as under
 * FULL; checkpoints under NORMAL stay crash-safe (SQLite syncs the WAL before copying it).
 */
export class EmbeddedTableStore implements TableStore {
  private readonly db: DatabaseSync;
  /** The WAL file to sync, or `undefined` when WAL mode was refused and FULL sync is on. */
  private readonly walPath: string | undefined;
  private wal: FileHandle | undefined;
  /** Writers that committed before a sync starts share it (group commit). */
  private readonly walSyncs = new SyncGroup(async () => {
    this.wal ??= await open(this.walPath ?? '', 'r');
    await this.wal.sync();
  });
  private batch: { committed: Promise<void>; commit: () => void } | undefined;
  /** Checkpoints off the event loop (WAL mode only). */
  private readonly checkpointer: WalCheckpointer | undefined;
  private readonly statements: {
    insert: StatementSync;
    upsert: StatementSync;
    get: StatementSync;
    update: StatementSync;
    deleteAny: StatementSync;
    deleteIfMatch: StatementSync;
    query: StatementSync;
    partitions: StatementSync;
  };

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    const mode = (
      this.db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: string } | undefined
    )?.journal_mode;
    this.walPath = mode === 'wal' ? `${path}-wal` : undefined;
    this.db.exec(`
      PRAGMA synchronous = ${this.walPath === undefined ? 'FULL' : 'NORMAL'};
      PRAGMA busy_timeout = 5000;
      PRAGMA journal_size_limit = ${16 * 1024 * 1024};
      CREATE TABLE IF NOT EXISTS entities (
        tbl TEXT NOT NULL, pk TEXT NOT NULL, rk TEXT NOT NULL, etag TEXT NOT NULL, props TEXT NOT NULL,
        PRIMARY KEY (tbl, pk, rk)
      );
    `);
    if (this.walPath !== undefined) {
      this.db.exec('PRAGMA wal_autocheckpoint = 0');
      this.checkpointer = new WalCheckpointer(path, (on) => {
        // SQLite's own checkpoints, inside commits on the event loop: slower, but bounded.
        if (this.db.isOpen) this.db.exec(`PRAGMA wal_autocheckpoint = ${on ? 1000 : 0}`);
      });
    }
    const db = this.db;
    this.statements = {
      insert: db.prepare('INSERT INTO entities (tbl, pk, rk, etag, props) VALUES (?, ?, ?, ?, ?)'),
      upsert: db.prepare(
        'INSERT INTO entities (tbl, pk, rk, etag, props) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tbl, pk, rk) DO UPDATE SET etag = excluded.etag, props = excluded.props',
      ),
      get: db.prepare(
        'SELECT pk, rk, etag, props FROM entities WHERE tbl = ? AND pk = ? AND rk = ?',
      ),
      update: db.prepare(
        'UPDATE entities SET etag = ?, props = ? WHERE tbl = ? AND pk = ? AND rk = ? AND etag = ?',
      ),
      deleteAny: db.prepare('DELETE FROM entities WHERE tbl = ? AND pk = ? AND rk = ?'),
      deleteIfMatch: db.prepare(
        'DELETE FROM entities WHERE tbl = ? AND pk = ? AND rk = ? AND etag = ?',
      ),
      query: db.prepare(
        'SELECT pk, rk, etag, props FROM entities WHERE tbl = ? AND pk = ? AND rk >= ? AND rk < ? AND rk > ? ORDER BY rk LIMIT ?',
      ),
      partitions: db.prepare('SELECT DISTINCT pk FROM entities WHERE tbl = ?'),
    };
  }

  insert(table: string, entity: Entity): Promise<string> {
    return this.write(() => this.insertNow(table, entity));
  }

  /**
   * A savepoint inside the shared transaction of this event-loop turn: all rows or, when an
   * insert meets an existing row, none (rolled back to the savepoint).
   */
  async transact(writes: readonly TableWrite[]): Promise<readonly string[] | false> {
    checkTransaction(writes);
    const etags = await this.run(() =>
      this.inTransaction(() => {
        this.db.exec('SAVEPOINT tx');
        try {
          const written = writes.map((write) => this.writeNow(write));
          this.db.exec('RELEASE tx');
          return written;
        } catch (error) {
          this.db.exec('ROLLBACK TO tx');
          this.db.exec('RELEASE tx');
          if (
            error instanceof AlreadyExistsError ||
            error instanceof PreconditionFailedError ||
            error instanceof NotFoundError
          ) {
            return false;
          }
          throw error;
        }
      }),
    );
    if (etags === false) return false;
    await this.committed();
    await this.durable();
    return etags;
  }

  /** One write of a transaction; its new ETag (`''` for a delete). */
  private writeNow(write: TableWrite): string {
    switch (write.op) {
      case 'insert':
        return this.insertNow(write.table, write.entity);
      case 'upsert':
        return this.upsertNow(write.table, write.entity);
      case 'update':
        return this.updateNow(write.table, write.entity, write.etag);
      case 'delete': {
        const { partitionKey, rowKey } = write.key;
        const result =
          write.etag === undefined
            ? this.statements.deleteAny.run(write.table, partitionKey, rowKey)
            : this.statements.deleteIfMatch.run(write.table, partitionKey, rowKey, write.etag);
        if (result.changes === 0) this.explainMiss(write.table, partitionKey, rowKey);
        return '';
      }
    }
  }

  private insertNow(table: string, entity: Entity): string {
    try {
      return writeRow(this.statements.insert, table, entity);
    } catch (error) {
      if (isConstraint(error)) {
        throw new AlreadyExistsError(
          `Row ${entity.partitionKey}/${entity.rowKey} already exists in ${table}.`,
        );
      }
      throw error;
    }
  }

  upsert(table: string, entity: Entity): Promise<string> {
    return this.write(() => this.upsertNow(table, entity));
  }

  private upsertNow(table: string, entity: Entity): string {
    return writeRow(this.statements.upsert, table, entity);
  }

  get(table: string, partitionKey: string, rowKey: string): Promise<StoredEntity | undefined> {
    return this.run(() => {
      checkTableKey('partition key', partitionKey);
      checkTableKey('row key', rowKey);
      const row = this.statements.get.get(table, partitionKey, rowKey) as Row | undefined;
      return row && toEntity(row);
    });
  }

  update(table: string, entity: Entity, etag: string): Promise<string> {
    return this.write(() => this.updateNow(table, entity, etag));
  }

  private updateNow(table: string, entity: Entity, etag: string): string {
    checkEntity(entity);
    const next = newEtag();
    const result = this.statements.update.run(
      next,
      JSON.stringify(entity.properties),
      table,
      entity.partitionKey,
      entity.rowKey,
      etag,
    );
    if (result.changes === 0) this.explainMiss(table, entity.partitionKey, entity.rowKey);
    return next;
  }

  delete(table: string, partitionKey: string, rowKey: string, etag?: string): Promise<void> {
    return this.write(() => {
      checkTableKey('partition key', partitionKey);
      checkTableKey('row key', rowKey);
      if (etag === undefined) {
        this.statements.deleteAny.run(table, partitionKey, rowKey);
        return;
      }
      const result = this.statements.deleteIfMatch.run(table, partitionKey, rowKey, etag);
      if (result.changes === 0 && this.statements.get.get(table, partitionKey, rowKey)) {
        throw new PreconditionFailedError(
          `Row ${partitionKey}/${rowKey} in ${table} changed since it was read.`,
        );
      }
    });
  }

  query(
    table: string,
    partitionKey: string,
    options: QueryOptions = {},
  ): Promise<Page<StoredEntity>> {
    return this.run(() => {
      checkTableKey('partition key', partitionKey);
      const limit = Math.min(Math.max(options.limit ?? MAX_PAGE, 1), MAX_PAGE);
      const after = options.cursor === undefined ? '' : decodeCursor(options.cursor);
      const rows = this.statements.query.all(
        table,
        partitionKey,
        options.rowKeyFrom ?? '',
        options.rowKeyTo ?? '\u{10FFFF}',
        after,
        limit + 1,
      ) as unknown as Row[];
      const items = rows.slice(0, limit).map(toEntity);
      const last = items[items.length - 1];
      return rows.length > limit && last ? { items, cursor: encodeCursor(last.rowKey) } : { items };
    });
  }

  async *partitions(table: string): AsyncGenerator<string> {
    const rows = await this.run(
      () => this.statements.partitions.all(table) as unknown as { pk: string }[],
    );
    for (const row of rows) yield row.pk;
  }

  /** One round trip through SQLite, used by the health check. */
  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  close(): void {
    if (this.db.isOpen) this.batch?.commit();
    this.checkpointer?.close();
    void this.wal?.close().catch(() => undefined);
    this.wal = undefined;
    if (this.db.isOpen) this.db.close();
  }

  /** A committed write, resolved once it is durable. */
  private async write<T>(operation: () => T): Promise<T> {
    const result = await this.run(() => this.inTransaction(operation));
    await this.committed();
    await this.durable();
    return result;
  }

  /**
   * Writes of one event-loop turn share a transaction, committed on the next turn: one set of WAL
   * frames (B-tree pages touched by several rows are written once) instead of one per row. A
   * failing statement rolls back only itself; a failing COMMIT fails every write of the batch.
   */
  private inTransaction<T>(operation: () => T): T {
    if (this.batch === undefined) {
      this.db.exec('BEGIN');
      let settle: (error?: Error) => void = () => undefined;
      const committed = new Promise<void>((resolve, reject) => {
        settle = (error) => {
          if (error === undefined) resolve();
          else reject(error);
        };
      });
      // Writers await it; an unobserved rejection must not crash the process.
      committed.catch(() => undefined);
      const batch: { committed: Promise<void>; commit: () => void } = {
        committed,
        commit: () => undefined,
      };
      batch.commit = () => {
        if (this.batch !== batch) return; // committed already (by close)
        this.batch = undefined;
        try {
          this.db.exec('COMMIT');
          this.checkpointer?.committed();
          settle();
        } catch (error) {
          if (this.db.isOpen && this.db.isTransaction) this.db.exec('ROLLBACK');
          settle(
            new UnavailableError('The embedded database could not commit; retry.', {
              cause: error,
            }),
          );
        }
      };
      this.batch = batch;
      setImmediate(batch.commit);
    }
    return operation();
  }

  private committed(): Promise<void> {
    return this.batch?.committed ?? Promise.resolve();
  }

  /** Resolves once everything committed before the call is on disk. */
  private async durable(): Promise<void> {
    if (this.walPath === undefined) return;
    try {
      await this.walSyncs.sync('wal');
    } catch (error) {
      throw new UnavailableError('The embedded database could not be synced to disk; retry.', {
        cause: error,
      });
    }
  }

  private explainMiss(table: string, partitionKey: string, rowKey: string): never {
    if (this.statements.get.get(table, partitionKey, rowKey)) {
      throw new PreconditionFailedError(
        `Row ${partitionKey}/${rowKey} in ${table} changed since it was read.`,
      );
    }
    throw new NotFoundError(`No row ${partitionKey}/${rowKey} in ${table}.`, 'row_not_found');
  }

  /** Runs a synchronous SQLite call as a promise, turning a locked database into a retryable 503. */
  private run<T>(operation: () => T): Promise<T> {
    try {
      return Promise.resolve(operation());
    } catch (error) {
      if (error instanceof Error && /SQLITE_BUSY|database is locked/.test(error.message)) {
        return Promise.reject(
          new UnavailableError('The embedded database is busy; retry shortly.', { cause: error }),
        );
      }
      return Promise.reject(coerceError(error));
    }
  }
}

function toEntity(row: Row): StoredEntity {
  return {
    partitionKey: row.pk,
    rowKey: row.rk,
    etag: row.etag,
    properties: JSON.parse(row.props) as EntityProperties,
  };
}

/** An insert or upsert of a checked row with a new ETag, which it returns. */
function writeRow(statement: StatementSync, table: string, entity: Entity): string {
  checkEntity(entity);
  const etag = newEtag();
  statement.run(table, entity.partitionKey, entity.rowKey, etag, JSON.stringify(entity.properties));
  return etag;
}

function newEtag(): string {
  return `W/"${randomUUID()}"`;
}

function isConstraint(error: unknown): boolean {
  return error instanceof Error && /UNIQUE constraint failed|SQLITE_CONSTRAINT/.test(error.message);
}

function encodeCursor(rowKey: string): string {
  return Buffer.from(rowKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const rowKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (rowKey === '' || encodeCursor(rowKey) !== cursor) {
    throw new InvalidCursorError();
  }
  return rowKey;
}

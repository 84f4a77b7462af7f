import { statfsSync } from 'node:fs';
import {
  InsufficientStorageError,
  coerceError,
  isDiskFull,
  type BlobStore,
  type TableStore,
} from '@nexus/core';

/**
 * How much more free space than right after the failed write the health check wants to see
 * before it stops reporting the storage as degraded (the failed write needed more than there was).
 */
const RECOVERED_MARGIN_BYTES = 64 * 1024 * 1024;

/**
 * The embedded backend's view of its disk. A write that fails for lack of space becomes a 507
 * naming the data folder (nothing was stored; the client retries later), and the storage reports
 * itself degraded until a blob is stored again or the disk has clearly more free space than when
 * the write failed. A row written meanwhile (a worker's run report, a webhook's state) proves
 * little: SQLite fills pages it has, so a small row may fit where no transcript does.
 */
export class DiskSpace {
  private readonly dataDir: string;
  private full: { readonly reason: string; readonly freeBytes: number } | undefined;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  async guard<T>(write: () => Promise<T>, proves: 'space' | 'nothing' = 'nothing'): Promise<T> {
    try {
      const result = await write();
      if (proves === 'space') this.full = undefined;
      return result;
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      // The failed write's temp file is gone by now: this is what there is without it.
      this.full = { reason: coerceError(error).message, freeBytes: this.freeBytes() };
      throw this.fullError(error);
    }
  }

  /** Throws while the disk is known to be full (the health check: `degraded`). */
  check(): void {
    if (this.full === undefined) return;
    const free = this.freeBytes();
    if (free >= this.full.freeBytes + RECOVERED_MARGIN_BYTES) {
      this.full = undefined;
      return;
    }
    throw new InsufficientStorageError(
      `The last write failed for lack of space in the data folder ${this.dataDir} (${this.full.reason}); ${Math.floor(free / (1024 * 1024))} MiB free now. Free space on that disk, or move NEXUS_DATA_DIR.`,
    );
  }

  private freeBytes(): number {
    try {
      const stats = statfsSync(this.dataDir);
      return stats.bavail * stats.bsize;
    } catch {
      return 0;
    }
  }

  private fullError(cause: unknown): InsufficientStorageError {
    return new InsufficientStorageError(
      `No space left in the data folder ${this.dataDir}: nothing was stored. Free space on that disk (or move NEXUS_DATA_DIR to a larger one); retry later.`,
      { cause },
    );
  }

  /** The blob store with its writes guarded. */
  blobs(store: BlobStore): BlobStore {
    return {
      putIfAbsent: (key, source, options) =>
        this.guard(() => store.putIfAbsent(key, source, options), 'space'),
      get: (key, options) => store.get(key, options),
      head: (key) => store.head(key),
      list: (prefix) => store.list(prefix),
      delete: (key) => this.guard(() => store.delete(key)),
    };
  }

  /** The table store with its writes guarded. */
  tables(store: TableStore): TableStore {
    return {
      insert: (table, entity) => this.guard(() => store.insert(table, entity)),
      transact: (writes) => this.guard(() => store.transact(writes)),
      upsert: (table, entity) => this.guard(() => store.upsert(table, entity)),
      get: (table, partitionKey, rowKey) => store.get(table, partitionKey, rowKey),
      update: (table, entity, etag) => this.guard(() => store.update(table, entity, etag)),
      delete: (table, partitionKey, rowKey, etag) =>
        this.guard(() => store.delete(table, partitionKey, rowKey, etag)),
      query: (table, partitionKey, options) => store.query(table, partitionKey, options),
      partitions: (table) => store.partitions(table),
    };
  }
}

import { randomUUID } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  fsync,
  linkSync,
  mkdirSync,
  openSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { copyFile, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join, relative, sep } from 'node:path';
import {
  NotFoundError,
  checkBlobKey,
  errorCode,
  isFileSource,
  type BlobSource,
  type BlobInfo,
  type BlobStore,
  type ByteSource,
  type PutBlobResult,
} from '@nexus/core';
import { SyncGroup } from './sync-group.ts';

const WRITE_BATCH_BYTES = 256 * 1024;
const fsyncFd = promisify(fsync);

/**
 * Blobs as files under `<root>/blobs`. A write goes to `<root>/tmp/<uuid>.part`, is fsync'd, then
 * hard-linked to its final name: `link` fails when the name exists, which makes the write
 * create-only and atomic (a reader sees the whole file or none), and a crash at any point leaves
 * at worst a `.part` file that `open` sweeps away. The parent folder is fsync'd so the new name
 * survives a power cut, not only a killed process.
 *
 * Metadata calls (open, close, mkdir, link, unlink) and the write of bytes already in memory are
 * synchronous: on the local disk this store is for they take microseconds, while each trip
 * through the thread pool waited for the event loop to come round again; a small upload made
 * eleven such trips in a row (bench B1). Only the fsyncs, which wait for the disk, stay async.
 */
export class EmbeddedBlobStore implements BlobStore {
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  /** Uploads side by side into one agent's folder share its syncs. */
  private readonly folders = new SyncGroup(syncDir);

  private constructor(root: string) {
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
  }

  static async open(root: string, sweepTemp = true): Promise<EmbeddedBlobStore> {
    const store = new EmbeddedBlobStore(root);
    await mkdir(store.blobsDir, { recursive: true, mode: 0o700 });
    // Leftovers of writes interrupted by a crash: never visible, safe to drop.
    if (sweepTemp) await rm(store.tmpDir, { recursive: true, force: true });
    await mkdir(store.tmpDir, { recursive: true, mode: 0o700 });
    return store;
  }

  async putIfAbsent(key: string, source: BlobSource): Promise<PutBlobResult> {
    // No existence check first: `link` below refuses an existing name. Putting an existing key
    // (a retry) writes a temp file for nothing; checking first cost every new blob a round trip.
    const path = this.pathOf(key);
    const tmp = join(this.tmpDir, `${randomUUID()}.part`);
    const size =
      source instanceof Uint8Array
        ? await writeBytes(tmp, source)
        : isFileSource(source)
          ? await copyWholeFile(source.file, tmp)
          : await this.writeStream(tmp, source);
    return { created: await this.publish(tmp, path), size };
  }

  /** Makes a synced temp file visible under its final name, unless that name exists. */
  private async publish(tmp: string, path: string): Promise<boolean> {
    try {
      const firstCreated = mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      linkSync(tmp, path);
      // New folders are entries of their parents: sync up to the first folder that existed, all
      // at once (each sync makes its own folder's entries durable; their order does not matter).
      const top = firstCreated === undefined ? dirname(path) : dirname(firstCreated);
      const dirs: string[] = [];
      for (let dir = dirname(path); ; dir = dirname(dir)) {
        dirs.push(dir);
        if (dir === top || dir === this.blobsDir) break;
      }
      await Promise.all(dirs.map((dir) => this.folders.sync(dir)));
      return true;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      throw error;
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // Already gone, or the next start sweeps the tmp folder.
      }
    }
  }

  /** Writes a stream to a new temp file and syncs it; the temp file is gone if anything fails. */
  private async writeStream(tmp: string, source: ByteSource): Promise<number> {
    const file = await open(tmp, 'wx', 0o600);
    let size = 0;
    try {
      // Chunks gathered into one writev of up to 256 KB: a 40 KB transcript arrives as several
      // decompressed chunks, and each write is a round trip through the thread pool (bench B1).
      // One write stays in flight while the next batch is read, verified and gathered: awaiting
      // each write before pulling more left the upload pipeline idle 40% of the time (bench B2).
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      // The write in flight settles to void either way, its failure kept: a failure (ENOSPC) that
      // nothing awaited yet would otherwise be an unhandled rejection, which ends the process.
      let writeFailure: { error: unknown } | undefined;
      let writing: Promise<void> = Promise.resolve();
      const failed = () => {
        if (writeFailure !== undefined) throw writeFailure.error;
      };
      try {
        for await (const chunk of source) {
          failed();
          size += chunk.byteLength;
          pending.push(chunk);
          pendingBytes += chunk.byteLength;
          if (pendingBytes >= WRITE_BATCH_BYTES) {
            await writing;
            failed();
            writing = file.writev(pending).then(
              () => undefined,
              (error: unknown) => {
                writeFailure ??= { error };
              },
            );
            pending = [];
            pendingBytes = 0;
          }
        }
      } finally {
        // Never leave a write running when the source throws.
        await writing;
      }
      failed();
      if (pending.length > 0) await file.writev(pending);
      await file.sync();
    } catch (error) {
      await file.close();
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    await file.close();
    return size;
  }

  async get(
    key: string,
    options: { readonly start?: number } = {},
  ): Promise<{ info: BlobInfo; body: ByteSource }> {
    const info = await this.head(key);
    if (!info) throw new NotFoundError(`No blob ${key}.`, 'blob_not_found');
    const start = Math.max(0, options.start ?? 0);
    return {
      info,
      body: createReadStream(this.pathOf(key), { highWaterMark: 256 * 1024, start }),
    };
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    try {
      const stats = await stat(this.pathOf(key));
      return stats.isFile() ? { key, size: stats.size } : undefined;
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // Start from the deepest folder the prefix names, then filter by the full prefix.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (folder !== '') checkBlobKey(folder);
    for await (const path of walk(join(this.blobsDir, folder))) {
      const key = relative(this.blobsDir, path).split(sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const stats = await stat(path).catch(() => undefined);
      if (stats?.isFile()) yield { key, size: stats.size };
    }
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
    });
  }

  private pathOf(key: string): string {
    return join(this.blobsDir, ...checkBlobKey(key));
  }
}

async function* walk(dir: string): AsyncIterable<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/**
 * A file copied by the kernel (a usage ledger spooled to a temp file) instead of read through
 * JavaScript buffers, which the GC collected late: a brief 20 MB of RSS at the end of bench B2's
 * upload. Synced; the temp file is gone if anything fails.
 */
async function copyWholeFile(file: string, tmp: string): Promise<number> {
  try {
    await copyFile(file, tmp, constants.COPYFILE_EXCL);
    await syncPath(tmp);
    return (await stat(tmp)).size;
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** Bytes in memory to a new temp file, synced; the temp file is gone if anything fails. */
async function writeBytes(tmp: string, bytes: Uint8Array): Promise<number> {
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    for (let offset = 0; offset < bytes.byteLength;)
      offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
    await fsyncFd(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  return bytes.byteLength;
}

async function syncDir(dir: string): Promise<void> {
  // Windows cannot open a folder for fsync; there, NTFS journals the rename itself.
  if (process.platform !== 'win32') await syncPath(dir);
}

/** An fsync of a file or folder by its path, waited for on the thread pool. */
async function syncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

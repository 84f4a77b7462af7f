import { join } from 'node:path';
import { NexusError, UnavailableError, coerceError, type Storage } from '@nexus/core';
import { DiskSpace } from './disk-space.ts';
import { EmbeddedBlobStore } from './embedded-blob-store.ts';
import { EmbeddedTableStore } from './embedded-table-store.ts';
import { makePrivateDir, makePrivateFile } from './private-files.ts';

/** The default backend: everything under one data folder, nothing to install. */
export async function openEmbeddedStorage(
  dataDir: string,
  options: {
    /** Drop temp files left by a crash (the server, at start); not while a server may be writing. */
    sweepTemp?: boolean;
  } = {},
): Promise<Storage> {
  makePrivateDir(dataDir);
  const blobs = await EmbeddedBlobStore.open(dataDir, options.sweepTemp ?? true);
  const tablesPath = join(dataDir, 'tables.sqlite');
  makePrivateFile(tablesPath);
  const tables = new EmbeddedTableStore(tablesPath);
  const space = new DiskSpace(dataDir);
  return {
    blobs: space.blobs(blobs),
    tables: space.tables(tables),
    description: `embedded storage in ${dataDir}`,
    check() {
      try {
        space.check();
        tables.ping();
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(
          error instanceof NexusError
            ? error
            : new UnavailableError(
                `The embedded database does not answer: ${coerceError(error).message}`,
              ),
        );
      }
    },
    close() {
      tables.close();
      return Promise.resolve();
    },
  };
}

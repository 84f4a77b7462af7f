import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UnavailableError, coerceError, type Storage } from '@nexus/core';
import { EmbeddedBlobStore } from './embedded-blob-store.ts';
import { EmbeddedTableStore } from './embedded-table-store.ts';

/** The default backend: everything under one data folder, nothing to install. */
export async function openEmbeddedStorage(dataDir: string): Promise<Storage> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const blobs = await EmbeddedBlobStore.open(dataDir);
  const tables = new EmbeddedTableStore(join(dataDir, 'tables.sqlite'));
  return {
    blobs,
    tables,
    description: `embedded storage in ${dataDir}`,
    check() {
      try {
        tables.ping();
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(
          new UnavailableError(
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

import { DEFAULT_HOST_ID, type Storage } from '@nexus/core';
import type { StorageConfig } from '../config/api-config.ts';
import { upgradeToHosts } from '../hosts/host-upgrade.ts';
import { openAzureStorage } from './azure/open-azure-storage.ts';
import { openEmbeddedStorage } from './embedded/open-embedded-storage.ts';

export interface OpenStorageOptions {
  /** Drop temp files left by a crash (the server, at start); not while a server may be writing. */
  readonly sweepTemp?: boolean;
  /** Where data stored before hosts existed moves (`NEXUS_DEFAULT_HOST`). */
  readonly defaultHostId?: string;
}

/**
 * Opens whichever backend the configuration names and brings its data up to this version's layout
 * (once; `log` hears about it): on Azure the one-table layout, on both the move to hosts.
 */
export async function openStorage(
  config: StorageConfig,
  log?: (message: string) => void,
  options: OpenStorageOptions = {},
): Promise<Storage> {
  const storage =
    config.kind === 'embedded'
      ? await openEmbeddedStorage(
          config.dataDir,
          options.sweepTemp === undefined ? {} : { sweepTemp: options.sweepTemp },
        )
      : await openAzureStorage(config, log === undefined ? {} : { log });
  try {
    await upgradeToHosts(storage, options.defaultHostId ?? DEFAULT_HOST_ID, log);
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

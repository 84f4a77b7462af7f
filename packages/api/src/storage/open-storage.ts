import type { Storage } from '@nexus/core';
import type { StorageConfig } from '../config/api-config.ts';
import { openAzureStorage } from './azure/open-azure-storage.ts';
import { openEmbeddedStorage } from './embedded/open-embedded-storage.ts';

/** Opens whichever backend the configuration names; `log` hears about one-time storage upgrades. */
export function openStorage(
  config: StorageConfig,
  log?: (message: string) => void,
  options: { sweepTemp?: boolean } = {},
): Promise<Storage> {
  return config.kind === 'embedded'
    ? openEmbeddedStorage(config.dataDir, options)
    : openAzureStorage(config, log === undefined ? {} : { log });
}

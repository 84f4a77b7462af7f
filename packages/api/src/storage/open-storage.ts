import type { Storage } from '@nexus/core';
import type { StorageConfig } from '../config/api-config.ts';
import { openAzureStorage } from './azure/open-azure-storage.ts';
import { openEmbeddedStorage } from './embedded/open-embedded-storage.ts';

/** Opens whichever backend the configuration names. */
export function openStorage(config: StorageConfig): Promise<Storage> {
  return config.kind === 'embedded'
    ? openEmbeddedStorage(config.dataDir)
    : openAzureStorage(config);
}

import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { describeStorageConformance } from '../storage-conformance.ts';
import { openAzureStorage } from './open-azure-storage.ts';

describeStorageConformance('azure (Azurite)', () =>
  openAzureStorage({
    connectionString: inject('azuriteConnectionString'),
    container: `conformance-${randomBytes(4).toString('hex')}`,
    tablePrefix: `c${randomBytes(4).toString('hex')}`,
  }),
);

import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { coerceError, type Storage } from '@nexus/core';
import { azureStatus, translateAzureError } from './azure-errors.ts';
import { AzureBlobStore } from './azure-blob-store.ts';
import { AzureTableStore } from './azure-table-store.ts';
import { copyLegacyTables } from './legacy-tables.ts';

export type AzureStorageConfig =
  | {
      readonly connectionString: string;
      readonly container: string;
      readonly tablePrefix: string;
    }
  | {
      /** e.g. `https://<account>.blob.core.windows.net`, authenticated by `DefaultAzureCredential`. */
      readonly blobUrl: string;
      /** e.g. `https://<account>.table.core.windows.net`. */
      readonly tableUrl: string;
      readonly container: string;
      readonly tablePrefix: string;
    };

export interface OpenAzureOptions {
  /** Progress of the one-time copy out of the old per-table layout. */
  readonly log?: (message: string) => void;
}

/**
 * Connects to Azure Storage (or Azurite), creating the container and the table (`<prefix>rows`)
 * when missing, and copying the rows of the old per-table layout into it once.
 */
export async function openAzureStorage(
  config: AzureStorageConfig,
  options: OpenAzureOptions = {},
): Promise<Storage> {
  const log = options.log ?? (() => undefined);
  // Azurite and other local endpoints speak plain HTTP; the SDK refuses that unless told.
  const clientOptions = { allowInsecureConnection: true };
  let blobService: BlobServiceClient;
  let tableClientFor: (name: string) => TableClient;
  let tableService: TableServiceClient;
  if ('connectionString' in config) {
    blobService = BlobServiceClient.fromConnectionString(config.connectionString);
    tableService = TableServiceClient.fromConnectionString(config.connectionString, clientOptions);
    tableClientFor = (name) =>
      TableClient.fromConnectionString(config.connectionString, name, clientOptions);
  } else {
    const credential = new DefaultAzureCredential();
    blobService = new BlobServiceClient(config.blobUrl, credential);
    tableService = new TableServiceClient(config.tableUrl, credential);
    tableClientFor = (name) => new TableClient(config.tableUrl, name, credential);
  }

  const container = blobService.getContainerClient(config.container);
  const tableName = `${config.tablePrefix}rows`;
  const client = tableClientFor(tableName);
  try {
    await container.createIfNotExists();
    await tableService.createTable(tableName).catch((error: unknown) => {
      if (azureStatus(error) !== 409) throw error;
    });
  } catch (error) {
    throw translateAzureError(
      error,
      `preparing container ${config.container} and table ${tableName}`,
    );
  }

  const tables = new AzureTableStore(client, {
    allowInsecureConnection: 'connectionString' in config,
  });
  const copied = await copyLegacyTables(
    client,
    tables,
    (table) => tableClientFor(`${config.tablePrefix}${table}`),
    log,
  );
  if (copied && copied.rows > 0) {
    log(
      `Copied ${copied.rows} rows from the old per-table layout into ${tableName}; once this version serves, the old tables can be deleted: ${copied.tables.join(', ')}.`,
    );
  }
  return {
    blobs: new AzureBlobStore(container),
    tables,
    description: `Azure Storage account ${blobService.accountName}, container ${config.container}, table ${tableName}`,
    async check() {
      try {
        await container.getProperties();
        await tables.query('agents', 'agent', { limit: 1 });
      } catch (error) {
        throw translateAzureError(coerceError(error), 'the storage health check');
      }
    },
    close: () => Promise.resolve(),
  };
}

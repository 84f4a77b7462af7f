import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { TABLES, coerceError, type Storage } from '@nexus/core';
import { azureStatus, translateAzureError } from './azure-errors.ts';
import { AzureBlobStore } from './azure-blob-store.ts';
import { AzureTableStore } from './azure-table-store.ts';

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

/** Connects to Azure Storage (or Azurite), creating the container and tables when missing. */
export async function openAzureStorage(config: AzureStorageConfig): Promise<Storage> {
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
  const tableNames = new Map(
    TABLES.map((table) => [table as string, `${config.tablePrefix}${table}`]),
  );
  const clients = new Map<string, TableClient>();
  for (const [table, fullName] of tableNames) clients.set(table, tableClientFor(fullName));

  try {
    await container.createIfNotExists();
    for (const fullName of tableNames.values()) {
      await tableService.createTable(fullName).catch((error: unknown) => {
        if (azureStatus(error) !== 409) throw error;
      });
    }
  } catch (error) {
    throw translateAzureError(error, `preparing container ${config.container} and tables`);
  }

  const tables = new AzureTableStore((table) => {
    const client = clients.get(table);
    if (!client) throw new Error(`unknown table ${table}; add it to TABLES in @nexus/core`);
    return client;
  });
  return {
    blobs: new AzureBlobStore(container),
    tables,
    description: `Azure Storage account ${blobService.accountName}, container ${config.container}, tables ${config.tablePrefix}*`,
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

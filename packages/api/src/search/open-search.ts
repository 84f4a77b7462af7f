import { join } from 'node:path';
import type { Logger } from 'pino';
import { DefaultAzureCredential } from '@azure/identity';
import { AzureKeyCredential } from '@azure/search-documents';
import type { Storage } from '@nexus/core';
import type { SearchConfig } from '../config/api-config.ts';
import { AzureSearchIndex } from './azure-search-index.ts';
import { SearchIndexer } from './search-indexer.ts';
import { SEARCH_INDEX_FILE, SqliteSearchIndex } from './sqlite-search-index.ts';
import { TableSearchQueue } from './table-search-queue.ts';

/**
 * The search index the configuration asks for, with what keeps it current: SQLite FTS5 in the
 * data folder (its queue in the same file), or Azure AI Search (its queue in Table Storage, so an
 * upload recorded by one Functions instance is indexed by another). Undefined: no search.
 */
export function openSearch(
  config: SearchConfig,
  deps: { storage: Storage; logger: Logger; dataDir?: string },
): SearchIndexer | undefined {
  if (config.kind === 'off') return undefined;
  if (config.kind === 'sqlite') {
    if (deps.dataDir === undefined) return undefined;
    const index = new SqliteSearchIndex(join(deps.dataDir, SEARCH_INDEX_FILE));
    return new SearchIndexer({ storage: deps.storage, index, queue: index, logger: deps.logger });
  }
  const index = new AzureSearchIndex({
    endpoint: config.endpoint,
    indexName: config.indexName,
    credential:
      config.key === undefined ? new DefaultAzureCredential() : new AzureKeyCredential(config.key),
  });
  return new SearchIndexer({
    storage: deps.storage,
    index,
    queue: new TableSearchQueue(deps.storage.tables),
    logger: deps.logger,
  });
}

import { createApp } from '../http/create-app.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { ConfigError } from '@nexus/core';
import { appSettings, loadApiConfig } from '../config/api-config.ts';
import { createLogger } from '../logger.ts';
import { openStorage } from '../storage/open-storage.ts';
import { openSearch } from '../search/open-search.ts';
import type { SearchIndexer } from '../search/search-indexer.ts';
import type { Logger } from 'pino';
import { VERSION } from '../version.ts';
import type { NexusApp } from '../http/app-env.ts';
import type { FetchApp } from './http-adapter.ts';

/** What one Functions instance builds once: the HTTP app, and the search indexer if configured. */
export interface FunctionsRuntime {
  readonly app: NexusApp;
  readonly search: SearchIndexer | undefined;
  readonly logger: Logger;
}

/** The HTTP app alone (`createFunctionsRuntime`). */
export async function createFunctionsApp(
  env: Readonly<Record<string, string | undefined>>,
): Promise<FetchApp> {
  return (await createFunctionsRuntime(env)).app;
}

/**
 * Builds the app for Azure Functions from the function app's settings. Unlike the Node server it
 * has no data folder to keep a generated key or embedded data in, so both Azure Storage and
 * NEXUS_API_KEYS are required, with a message saying so. With Azure AI Search configured, uploads
 * queue their generations in Table Storage and the timer function (`searchTimerHandler`) indexes
 * them: nothing runs in the background of an HTTP invocation.
 */
export async function createFunctionsRuntime(
  env: Readonly<Record<string, string | undefined>>,
): Promise<FunctionsRuntime> {
  const config = loadApiConfig(env);
  if (config.storage.kind !== 'azure') {
    throw new ConfigError(
      'On Azure Functions Nexus stores data in Azure Storage: set AZURE_STORAGE_CONNECTION_STRING, or NEXUS_AZURE_BLOB_URL and NEXUS_AZURE_TABLE_URL with a managed identity.',
    );
  }
  if (config.apiKeys.length === 0) {
    throw new ConfigError(
      'Set NEXUS_API_KEYS (comma-separated) in the function app settings; clients send one as "Authorization: Bearer <key>".',
    );
  }
  const logger = createLogger({ level: config.logLevel, name: 'nexus-api', pretty: false });
  const storage = await openStorage(
    config.storage,
    (message) => {
      logger.info(message);
    },
    { defaultHostId: config.defaultHostId },
  );
  const search = openSearch(config.search, { storage, logger });
  const app = createApp({
    ...(search === undefined ? {} : { search }),
    storage,
    storageKind: 'azure',
    apiKeys: new ApiKeys(config.apiKeys),
    logger,
    ...appSettings(config),
    version: VERSION,
  });
  return { app, search, logger };
}

/** How long one run of the search timer indexes (the function app's timeout is 10 minutes). */
export const SEARCH_TIMER_BUDGET_MS = 8 * 60_000;

/**
 * The timer function's body: indexes what uploads queued (and a rebuild asked for) for up to
 * `budgetMs`; the runtime runs a timer function on one instance at a time, so runs never overlap.
 * A failure is logged and thrown, so the invocation shows as failed in the portal.
 */
export function searchTimerHandler(
  getRuntime: () => Promise<FunctionsRuntime>,
  budgetMs = SEARCH_TIMER_BUDGET_MS,
): () => Promise<void> {
  return async () => {
    const { search, logger } = await getRuntime();
    if (search === undefined) return;
    const started = performance.now();
    const left = await search.drain(started + budgetMs);
    logger.info(
      { ...left, ms: Math.round(performance.now() - started) },
      left.pending === 0 && !left.rebuilding
        ? 'search index: caught up'
        : 'search index: more to index at the next run',
    );
  };
}

/**
 * The app is built on the first request and kept for the instance's life. A failed start is not
 * cached, so fixing a setting (or a storage outage passing) needs no restart.
 */
export function lazily<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

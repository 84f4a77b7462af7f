import { createApp } from '../http/create-app.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { ConfigError } from '@nexus/core';
import { appSettings, loadApiConfig } from '../config/api-config.ts';
import { createLogger } from '../logger.ts';
import { openStorage } from '../storage/open-storage.ts';
import { VERSION } from '../version.ts';
import type { FetchApp } from './http-adapter.ts';

/**
 * Builds the app for Azure Functions from the function app's settings. Unlike the Node server it
 * has no data folder to keep a generated key or embedded data in, so both Azure Storage and
 * NEXUS_API_KEYS are required, with a message saying so.
 */
export async function createFunctionsApp(
  env: Readonly<Record<string, string | undefined>>,
): Promise<FetchApp> {
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
  return createApp({
    storage,
    storageKind: 'azure',
    apiKeys: new ApiKeys(config.apiKeys),
    logger,
    ...appSettings(config),
    version: VERSION,
  });
}

/**
 * The app is built on the first request and kept for the instance's life. A failed start is not
 * cached, so fixing a setting (or a storage outage passing) needs no restart.
 */
export function lazily(build: () => Promise<FetchApp>): () => Promise<FetchApp> {
  let pending: Promise<FetchApp> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

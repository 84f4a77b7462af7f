import { mkdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { appSettings, type ApiConfig } from '../config/api-config.ts';
import { createApp } from '../http/create-app.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { openStorage } from '../storage/open-storage.ts';
import { loadOrCreateApiKey } from './generated-api-key.ts';
import { VERSION } from '../version.ts';

export interface RunningServer {
  readonly url: string;
  /** Where the generated key is kept, when no key was configured. */
  readonly apiKeyFile: string | undefined;
  close(): Promise<void>;
}

/** Uploads of hundreds of MB over a home uplink take minutes; Node's 5-minute default would cut them. */
const REQUEST_TIMEOUT_MS = 60 * 60 * 1000;
const SHUTDOWN_GRACE_MS = 10_000;

/** The Node adapter: storage from config, the runtime-free app, a plain HTTP server. */
export async function startServer(config: ApiConfig, logger: Logger): Promise<RunningServer> {
  const storage = await openStorage(config.storage, (message) => {
    logger.info(message);
  });
  let keys = config.apiKeys;
  let apiKeyFile: string | undefined;
  if (keys.length === 0) {
    const generated = await loadOrCreateApiKey(config.dataDir);
    keys = [generated.key];
    apiKeyFile = generated.path;
    if (generated.created) {
      logger.warn(
        `No API key was configured, so one was generated and saved to ${generated.path} (readable only by you). ` +
          `Clients send it as "Authorization: Bearer <key>"; set NEXUS_API_KEYS to use your own.`,
      );
    }
  }
  // Temp files of uploads cut short by a crash: nothing refers to them any more.
  const spoolDir = join(config.dataDir, 'spool');
  await rm(spoolDir, { recursive: true, force: true });
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const app = createApp({
    spoolDir,
    storage,
    storageKind: config.storage.kind,
    apiKeys: new ApiKeys(keys),
    logger,
    ...appSettings(config),
    version: VERSION,
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve(
      {
        fetch: app.fetch,
        hostname: config.host,
        port: config.port,
        serverOptions: {
          requestTimeout: REQUEST_TIMEOUT_MS,
          headersTimeout: 60_000,
          keepAliveTimeout: 65_000,
        },
      },
      () => {
        resolve(created);
      },
    ) as Server;
    created.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    apiKeyFile,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          server.closeAllConnections();
        }, SHUTDOWN_GRACE_MS);
        await closed;
        clearTimeout(timer);
        await storage.close();
      })();
      return closing;
    },
  };
}

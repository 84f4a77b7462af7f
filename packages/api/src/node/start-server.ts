import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { Logger } from 'pino';
import { appSettings, type ApiConfig } from '../config/api-config.ts';
import { createApp } from '../http/create-app.ts';
import { openSearch } from '../search/open-search.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { openStorage } from '../storage/open-storage.ts';
import { makePrivateDir } from '../storage/embedded/private-files.ts';
import { loadOrCreateApiKey } from './generated-api-key.ts';
import { VERSION } from '../version.ts';
import { DEFAULT_LIMITS, NodeListener, type ConnectionLimits } from './node-listener.ts';

export interface RunningServer {
  readonly url: string;
  /** Where the generated key is kept, when no key was configured. */
  readonly apiKeyFile: string | undefined;
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 10_000;

/** The Node adapter: storage from config, the runtime-free app, a plain HTTP server. */
export async function startServer(
  config: ApiConfig,
  logger: Logger,
  options: {
    readonly limits?: Partial<ConnectionLimits>;
    /** A webhook body on `/hooks` must arrive within this (the app's default: 30 s). */
    readonly webhookReadTimeoutMs?: number;
  } = {},
): Promise<RunningServer> {
  const storage = await openStorage(
    config.storage,
    (message) => {
      logger.info(message);
    },
    { defaultHostId: config.defaultHostId },
  );
  let keys = config.apiKeys;
  let apiKeyFile: string | undefined;
  if (keys.length === 0) {
    const generated = await loadOrCreateApiKey(config.dataDir);
    keys = [generated.key];
    apiKeyFile = generated.path;
    if (generated.madePrivate) {
      logger.warn(
        `The API key file ${generated.path} was readable by other users; it is now readable by its owner only (mode 600). Anyone who read it could use the key: replace it (delete the file and restart) if that matters here.`,
      );
    }
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
  makePrivateDir(spoolDir);
  const closing = new AbortController();
  // Search: an index beside embedded storage or on Azure AI Search, kept current in the background.
  const search = openSearch(config.search, {
    storage,
    logger,
    ...(config.storage.kind === 'embedded' ? { dataDir: config.dataDir } : {}),
  });
  const app = createApp({
    ...(search === undefined ? {} : { search }),
    spoolDir,
    ...(options.webhookReadTimeoutMs === undefined
      ? {}
      : { webhookReadTimeoutMs: options.webhookReadTimeoutMs }),
    storage,
    storageKind: config.storage.kind,
    closing: closing.signal,
    apiKeys: new ApiKeys(keys),
    logger,
    ...appSettings(config),
    version: VERSION,
    warmDashboard: true,
  });

  const listener = new NodeListener(app, { ...DEFAULT_LIMITS, ...options.limits }, logger);
  // Host is checked by the listener, so its absence gets a JSON error body like every other.
  const server = createServer({ requireHostHeader: false });
  listener.attach(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // A port in use: nothing was served, so storage (and its checkpoint thread) closes now, or
    // the process would live on without a server.
    await search?.close();
    await storage.close();
    throw error;
  }
  search?.start();
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let shutdown: Promise<void> | undefined;
  return {
    url,
    apiKeyFile,
    close() {
      shutdown ??= (async () => {
        // Claims waiting for webhooks answer now (empty), so they do not hold the shutdown up.
        closing.abort();
        // No new connections, no new requests on open ones; the requests in flight finish, and
        // only then is storage closed under them (a grace period bounds a request that hangs).
        const closed = new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
        const drained = listener.drain();
        server.closeIdleConnections();
        const inTime = await Promise.race([
          drained.then(() => true),
          delay(SHUTDOWN_GRACE_MS).then(() => false),
        ]);
        if (!inTime) {
          logger.warn(
            `requests still running after ${SHUTDOWN_GRACE_MS / 1000} s of shutdown; cutting their connections`,
          );
          server.closeAllConnections();
          await Promise.race([drained, delay(SHUTDOWN_GRACE_MS / 2)]);
        }
        server.closeAllConnections();
        await closed;
        await search?.close();
        await storage.close();
      })();
      return shutdown;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { NexusApp } from '../http/app-env.ts';
import type { Storage } from '@nexus/core';
import type { ThrottleOptions } from '../auth/failure-throttle.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { createApp } from '../http/create-app.ts';
import { openAzureStorage } from '../storage/azure/open-azure-storage.ts';
import type { SearchIndexer } from '../search/search-indexer.ts';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';

export const API_KEY = 'test-key-one-0123456789';
export const SECOND_KEY = 'test-key-two-0123456789';
export const NOW = new Date('2026-11-25T12:00:00.000Z');

export interface Backend {
  readonly name: string;
  open(): Promise<Storage>;
}

/** The two storage backends every API test runs against. */
export function backends(azuriteConnectionString: string): Backend[] {
  return [
    {
      name: 'embedded',
      open: async () => openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-api-'))),
    },
    {
      name: 'azure (Azurite)',
      open: () =>
        openAzureStorage({
          connectionString: azuriteConnectionString,
          container: `api-${randomBytes(4).toString('hex')}`,
          tablePrefix: `a${randomBytes(4).toString('hex')}`,
        }),
    },
  ];
}

/**
 * Opens `backend` before the tests of the enclosing block and closes it after; `use` receives the
 * storage and a test app on it: `useBackend(backend, (opened) => ({ storage, app } = opened));`.
 */
export function useBackend(
  backend: Backend,
  use: (opened: { storage: Storage; app: NexusApp }) => void,
): void {
  let storage: Storage | undefined;
  beforeAll(async () => {
    storage = await backend.open();
    use({ storage, app: testApp(storage) });
  });
  afterAll(async () => {
    await storage?.close();
  });
}

export function testApp(
  storage: Storage,
  options: {
    maxTranscriptBytes?: number;
    now?: () => Date;
    keyCacheMs?: number;
    defaultHostId?: string;
    authThrottle?: ThrottleOptions;
    closing?: AbortSignal;
    search?: SearchIndexer;
  } = {},
): NexusApp {
  return createApp({
    storage,
    storageKind: 'test',
    apiKeys: new ApiKeys([API_KEY, SECOND_KEY]),
    logger: pino({ level: 'silent' }),
    maxTranscriptBytes: options.maxTranscriptBytes ?? 4 * 1024 * 1024,
    version: 'test',
    now: options.now ?? (() => NOW),
    ...(options.keyCacheMs === undefined ? {} : { keyCacheMs: options.keyCacheMs }),
    ...(options.defaultHostId === undefined ? {} : { defaultHostId: options.defaultHostId }),
    ...(options.authThrottle === undefined ? {} : { authThrottle: options.authThrottle }),
    ...(options.closing === undefined ? {} : { closing: options.closing }),
    ...(options.search === undefined ? {} : { search: options.search }),
  });
}

export function sha256(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface PutOptions {
  /** Uploads under `/v1/hosts/{hostId}/...`; without it, the deprecated path of the default host. */
  readonly hostId?: string;
  readonly agentId?: string;
  readonly sessionId?: string;
  readonly sha256?: string;
  readonly kind?: string;
  readonly fileName?: string | null;
  readonly headers?: Record<string, string>;
  readonly query?: string;
  readonly key?: string;
}

export type Body = NonNullable<RequestInit['body']>;

/** PUT a transcript the way the worker does; the hash defaults to that of `raw` (uncompressed). */
export function putTranscript(
  app: NexusApp,
  body: Body,
  raw: string | Uint8Array,
  options: PutOptions = {},
) {
  const agentId = options.agentId ?? 'main';
  const sessionId = options.sessionId ?? 's1';
  const hash = options.sha256 ?? sha256(raw);
  const params = new URLSearchParams();
  params.set('kind', options.kind ?? 'live');
  if (options.fileName !== null) params.set('fileName', options.fileName ?? `${sessionId}.jsonl`);
  const query = `${params.toString()}${options.query ?? ''}`;
  const base = options.hostId === undefined ? '/v1' : `/v1/hosts/${options.hostId}`;
  return app.request(
    `${base}/agents/${agentId}/sessions/${sessionId}/transcripts/${hash}?${query}`,
    {
      method: 'PUT',
      body,
      headers: { authorization: `Bearer ${options.key ?? API_KEY}`, ...options.headers },
    },
  );
}

export function get(app: NexusApp, path: string, key: string | null = API_KEY) {
  return app.request(path, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
}

/**
 * Counts what the storage holds, to prove a rejected upload left nothing behind; rows of one
 * agent's partition (`<host>~<agent>`, by default the default host's `main`).
 */
export async function storedCounts(storage: Storage, scope = 'default~main') {
  let blobs = 0;
  for await (const _ of storage.blobs.list('transcripts/')) blobs += 1;
  let ledgers = 0;
  for await (const _ of storage.blobs.list('ledgers/')) ledgers += 1;
  const generations = (await storage.tables.query('generations', scope)).items.length;
  const sessions = (await storage.tables.query('sessions', scope)).items.length;
  return { blobs, ledgers, generations, sessions };
}

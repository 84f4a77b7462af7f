import { tmpdir } from 'node:os';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { DEFAULT_HOST_ID, NotFoundError, type Storage } from '@nexus/core';
import { Authenticator } from '../auth/authenticator.ts';
import { FailureThrottle, type ThrottleOptions } from '../auth/failure-throttle.ts';
import { KeyStore } from '../auth/key-store.ts';
import { ClaimRecorder } from '../hosts/claim-recorder.ts';
import { clientAddressOf, type AppEnv, type NexusApp } from './app-env.ts';
import { isClientAbort } from './client-abort.ts';
import type { ApiKeys } from './api-keys.ts';
import { errorResponse } from './error-response.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { hostRoutes } from './routes/host-routes.ts';
import { stateBackupRoutes } from './routes/state-backup-routes.ts';
import { keyRoutes } from './routes/key-routes.ts';
import { sessionRoutes } from './routes/session-routes.ts';
import { exportRoutes } from './routes/export-routes.ts';
import { searchRoutes } from './routes/search-routes.ts';
import type { SearchIndexer } from '../search/search-indexer.ts';
import { SecretMasker } from '../content/secret-mask.ts';
import { transcriptRoutes } from './routes/transcript-routes.ts';
import { DEFAULT_MAX_WEBHOOK_BYTES } from '../webhooks/ingest-webhook.ts';
import { DEFAULT_MAX_STATE_BACKUP_BYTES } from '../config/api-config.ts';
import { endpointRoutes } from './routes/endpoint-routes.ts';
import { hookRoutes } from './routes/hook-routes.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { EndpointCache } from '../webhooks/endpoint-cache.ts';
import { dashboardRoutes } from '../dashboard/dashboard-routes.ts';
import { internalPrincipalOf } from '../dashboard/internal-api.ts';
import { LoginSessions } from '../dashboard/login-session.ts';
import { errorPage, htmlResponse } from '../dashboard/page.ts';
import { SessionCatalog } from '../dashboard/session-catalog.ts';
import { TitleBackfill } from '../dashboard/title-backfill.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../webhooks/retry-policy.ts';
import {
  DEFAULT_RETENTION,
  WebhookQueue,
  type RetentionPolicy,
} from '../webhooks/webhook-queue.ts';

export interface AppDeps {
  readonly storage: Storage;
  /** `embedded` or `azure`, shown by the health check. */
  readonly storageKind: string;
  /** The admin keys of the configuration (`NEXUS_API_KEYS`, the generated first key). */
  readonly apiKeys: ApiKeys;
  /**
   * The host of data stored before hosts existed, and of the deprecated routes without a host
   * (`NEXUS_DEFAULT_HOST`, default `default`).
   */
  readonly defaultHostId?: string;
  /** A host not heard from for longer than this is shown `silent` (default 60 minutes). */
  readonly hostSilentMs?: number;
  /** How long a created key's row is trusted before it is read again (default 5 s). */
  readonly keyCacheMs?: number;
  /** Failed authentications allowed per client address (default 10 at once, then 1 per 6 s). */
  readonly authThrottle?: ThrottleOptions;
  readonly logger: Logger;
  readonly maxTranscriptBytes: number;
  /** Largest encrypted state archive a host may store (default 4 GiB). */
  readonly maxStateBackupBytes?: number;
  /** Largest webhook delivery accepted (default 25 MB, GitHub's cap). */
  readonly maxWebhookBytes?: number;
  readonly version: string;
  readonly now?: () => Date;
  /** Webhook queue retries and retention; defaults: 8 attempts from 10 s backoff, 7 / 30 days. */
  readonly webhookRetry?: RetryPolicy;
  readonly webhookRetention?: RetentionPolicy;
  readonly random?: () => number;
  /**
   * A folder for temp files of large uploads (default: the system's temp folder). The Node
   * server uses one under its data folder and empties it at start, so a crash leaves nothing.
   */
  readonly spoolDir?: string;
  /** Aborted when the server stops: long-polling claims answer at once instead of holding it up. */
  readonly closing?: AbortSignal;
  /** A webhook delivery's body must arrive within this (default 30 s). */
  readonly webhookReadTimeoutMs?: number;
  /** Signs dashboard logins (`NEXUS_DASHBOARD_SECRET`); default: a random one kept in storage. */
  readonly dashboardSecret?: string;
  /**
   * The address senders call when it is not the one requests arrive at (a proxy in front):
   * Twilio signs the URL it called (`NEXUS_PUBLIC_URL`).
   */
  readonly publicUrl?: string;
  /**
   * Masks secrets in what is shown, exported or quoted in search results (`NEXUS_MASK_PATTERNS`
   * adds the owner's patterns); default: the built-in patterns only.
   */
  readonly masker?: SecretMasker;
  /**
   * The search index and what keeps it current (SQLite beside embedded storage, or Azure AI
   * Search when configured); absent: search answers 501 saying how to enable it.
   */
  readonly search?: SearchIndexer;
  /**
   * Reads the dashboard's session list now, behind the first requests, instead of on the first
   * page view (the Node server; a function app reads it when a page first asks).
   */
  readonly warmDashboard?: boolean;
}

const OPEN_PATHS = new Set(['/v1/health', '/v1/enrol']);
const DEFAULT_HOST_SILENT_MS = 60 * 60_000;

/**
 * The whole Nexus API as a function from `Request` to `Response`, free of any runtime: the Node
 * server and the Azure Functions registration only adapt to it, and tests call `app.request()`.
 */
export function createApp(deps: AppDeps): NexusApp {
  const { logger, apiKeys } = deps;
  const now = deps.now ?? (() => new Date());
  const defaultHostId = deps.defaultHostId ?? DEFAULT_HOST_ID;
  const masker = deps.masker ?? new SecretMasker();
  const { search } = deps;
  const app = new Hono<AppEnv>();
  // Sessions stored before they had titles get them, once, when the dashboard's list reads them.
  const backfill = new TitleBackfill({
    storage: deps.storage,
    logger,
    onFilled: (scope, sessionId, filled) => {
      catalog.fillIn(scope, sessionId, filled);
    },
  });
  const catalog: SessionCatalog = new SessionCatalog(deps.storage, {
    nowMs: () => now().getTime(),
    untitled: (scope, sessionIds) => {
      backfill.add(scope, sessionIds);
    },
    maskTitle: (title) => masker.mask(title),
  });
  const keys = new KeyStore(deps.storage, {
    now,
    ...(deps.keyCacheMs === undefined ? {} : { cacheMs: deps.keyCacheMs }),
    onUseError: (error) => {
      logger.warn({ err: error }, 'could not record when a key was last used');
    },
  });
  const authenticator = new Authenticator({
    envKeys: apiKeys,
    keys,
    throttle: new FailureThrottle(deps.authThrottle),
    nowMs: () => now().getTime(),
  });

  app.onError((error, c) => {
    if (isClientAbort(error, c.req.raw)) {
      // Nobody is there to answer, and nothing is wrong with the server: not a fault.
      logger.info({ method: c.req.method, path: c.req.path }, 'request aborted by the client');
      // 499, as nginx logs a request its client closed; the answer reaches no one.
      return new Response(
        JSON.stringify({
          error: { code: 'client_aborted', message: 'The client closed the connection.' },
        }),
        { status: 499, headers: { 'content-type': 'application/json' } },
      );
    }
    return errorResponse(error, logger, { method: c.req.method, path: c.req.path });
  });
  app.notFound((c) =>
    wantsPage(c.req.path, c.req.header('accept'))
      ? htmlResponse(errorPage(404, `There is no page ${c.req.path}.`), 404)
      : errorResponse(
          new NotFoundError(
            `There is no route ${c.req.method} ${c.req.path}; see docs/API.md for the routes.`,
            'route_not_found',
          ),
          logger,
          { method: c.req.method, path: c.req.path },
        ),
  );

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });

  app.use('/v1/*', async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    // The dashboard calling the API for its logged-in key (`InternalApi`): already authenticated.
    const internal = internalPrincipalOf(c.env);
    if (internal !== undefined) {
      c.set('principal', internal);
      return next();
    }
    const principal = await authenticator.authenticate(
      c.req.header('authorization'),
      clientAddressOf(c),
    );
    c.set('principal', principal);
    return next();
  });
  // Routes from before hosts existed: they address the default host (docs/API.md).
  app.use('/v1/agents', markDeprecated);
  app.use('/v1/agents/*', markDeprecated);

  healthRoutes(app, {
    storage: deps.storage,
    version: deps.version,
    storageKind: deps.storageKind,
  });
  transcriptRoutes(app, {
    storage: deps.storage,
    now,
    maxTranscriptBytes: deps.maxTranscriptBytes,
    spoolDir: deps.spoolDir ?? tmpdir(),
    defaultHostId,
    onStored: () => {
      catalog.invalidate();
    },
    ...(search === undefined ? {} : { onRecording: search.enqueue.bind(search) }),
  });
  searchRoutes(app, { search, masker });
  sessionRoutes(app, {
    storage: deps.storage,
    defaultHostId,
    masker,
    search,
    onDeleted: (scope) => {
      catalog.forgetAgent(scope);
    },
  });
  exportRoutes(app, { storage: deps.storage, masker, defaultHostId, now });
  stateBackupRoutes(app, {
    storage: deps.storage,
    now,
    maxStateBackupBytes: deps.maxStateBackupBytes ?? DEFAULT_MAX_STATE_BACKUP_BYTES,
    defaultHostId,
  });
  hostRoutes(app, {
    storage: deps.storage,
    now,
    silentMs: deps.hostSilentMs ?? DEFAULT_HOST_SILENT_MS,
  });
  keyRoutes(app, { storage: deps.storage, keys, authenticator, now });
  const endpoints = new EndpointCache(deps.storage, () => now().getTime());
  const queue = new WebhookQueue({
    endpoints,
    storage: deps.storage,
    now,
    retry: deps.webhookRetry ?? DEFAULT_RETRY_POLICY,
    retention: deps.webhookRetention ?? DEFAULT_RETENTION,
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  endpointRoutes(app, { storage: deps.storage, now, endpoints, queue, defaultHostId });
  hookRoutes(app, {
    storage: deps.storage,
    now,
    maxWebhookBytes: deps.maxWebhookBytes ?? DEFAULT_MAX_WEBHOOK_BYTES,
    readTimeoutMs: deps.webhookReadTimeoutMs ?? 30_000,
    queue,
    endpoints,
    ...(deps.publicUrl === undefined ? {} : { publicUrl: deps.publicUrl }),
  });
  queueRoutes(app, {
    queue,
    claims: new ClaimRecorder(deps.storage, logger),
    defaultHostId,
    now,
    closing: deps.closing ?? new AbortController().signal,
  });
  dashboardRoutes(app, {
    storage: deps.storage,
    authenticator,
    logins: new LoginSessions({
      storage: deps.storage,
      apiKeys,
      keys,
      nowMs: () => now().getTime(),
      ...(deps.dashboardSecret === undefined ? {} : { secret: deps.dashboardSecret }),
    }),
    catalog,
    masker,
    logger,
    now,
  });
  if (deps.warmDashboard)
    catalog.refresh().catch((error: unknown) => {
      logger.warn(
        { err: error },
        'could not read the session list for the dashboard; the first page will try again',
      );
    });
  return app;
}

/** A browser asking for a page outside the API gets the dashboard's 404 page, not JSON. */
function wantsPage(path: string, accept: string | undefined): boolean {
  return (
    !path.startsWith('/v1/') && !path.startsWith('/hooks/') && (accept ?? '').includes('text/html')
  );
}

/**
 * RFC 9745's `Deprecation` header: these routes are deprecated since 0.3 (2026-12-01), and the
 * host routes replace them.
 */
const markDeprecated: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set('deprecation', '@1796083200');
  c.res.headers.set('link', '</v1/hosts>; rel="successor-version"');
};

import { tmpdir } from 'node:os';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { NotFoundError, UnauthorizedError, type Storage } from '@nexus/core';
import { isClientAbort } from './client-abort.ts';
import type { ApiKeys } from './api-keys.ts';
import { errorResponse } from './error-response.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { sessionRoutes } from './routes/session-routes.ts';
import { transcriptRoutes } from './routes/transcript-routes.ts';
import { DEFAULT_MAX_WEBHOOK_BYTES } from '../webhooks/ingest-webhook.ts';
import { endpointRoutes } from './routes/endpoint-routes.ts';
import { hookRoutes } from './routes/hook-routes.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { EndpointCache } from '../webhooks/endpoint-cache.ts';
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
  readonly apiKeys: ApiKeys;
  readonly logger: Logger;
  readonly maxTranscriptBytes: number;
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
  /** A webhook delivery's body must arrive within this (default 30 s). */
  readonly webhookReadTimeoutMs?: number;
}

const OPEN_PATHS = new Set(['/v1/health']);

/**
 * The whole Nexus API as a function from `Request` to `Response`, free of any runtime: the Node
 * server and the Azure Functions registration only adapt to it, and tests call `app.request()`.
 */
export function createApp(deps: AppDeps): Hono {
  const { logger, apiKeys } = deps;
  const now = deps.now ?? (() => new Date());
  const app = new Hono();

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
    errorResponse(
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
    const header = c.req.header('authorization');
    if (header === undefined) {
      throw new UnauthorizedError(
        'This route needs an API key: send the header "Authorization: Bearer <key>".',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new UnauthorizedError('The Authorization header must be "Bearer <key>".');
    }
    if (!apiKeys.verify(match[1])) {
      throw new UnauthorizedError(
        'The API key is not valid for this server; check NEXUS_API_KEYS or the generated key file.',
      );
    }
    return next();
  });

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
  });
  sessionRoutes(app, { storage: deps.storage });
  const endpoints = new EndpointCache(deps.storage, () => now().getTime());
  const queue = new WebhookQueue({
    endpoints,
    storage: deps.storage,
    now,
    retry: deps.webhookRetry ?? DEFAULT_RETRY_POLICY,
    retention: deps.webhookRetention ?? DEFAULT_RETENTION,
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  endpointRoutes(app, { storage: deps.storage, now, endpoints });
  hookRoutes(app, {
    storage: deps.storage,
    now,
    maxWebhookBytes: deps.maxWebhookBytes ?? DEFAULT_MAX_WEBHOOK_BYTES,
    readTimeoutMs: deps.webhookReadTimeoutMs ?? 30_000,
    queue,
    endpoints,
  });
  queueRoutes(app, { queue });
  return app;
}

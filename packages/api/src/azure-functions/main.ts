import { app } from '@azure/functions';
import { createHttpHandler } from './http-adapter.ts';
import { createFunctionsRuntime, lazily, searchTimerHandler } from './functions-app.ts';
import { startupFailureApp } from './startup-failure.ts';

// Streams, not buffers: without this the host hands the function the whole body in memory.
app.setup({ enableHttpStream: true });

const getRuntime = lazily(() => createFunctionsRuntime(process.env));

/** One catch-all function; routing is the app's (host.json sets an empty route prefix). */
app.http('nexus', {
  route: '{*path}',
  methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'],
  authLevel: 'anonymous',
  handler: createHttpHandler(() => getRuntime().then((runtime) => runtime.app, startupFailureApp)),
});

/**
 * Keeps the Azure AI Search index current (when configured): every minute, what uploads queued.
 * The runtime runs it on one instance at a time; a long run delays the next.
 */
app.timer('nexus-search-index', {
  schedule: '0 */1 * * * *',
  handler: searchTimerHandler(getRuntime),
});

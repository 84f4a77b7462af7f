import { app } from '@azure/functions';
import { createHttpHandler } from './http-adapter.ts';
import { createFunctionsApp, lazily } from './functions-app.ts';
import { startupFailureApp } from './startup-failure.ts';

// Streams, not buffers: without this the host hands the function the whole body in memory.
app.setup({ enableHttpStream: true });

const getApp = lazily(() => createFunctionsApp(process.env));

/** One catch-all function; routing is the app's (host.json sets an empty route prefix). */
app.http('nexus', {
  route: '{*path}',
  methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'],
  authLevel: 'anonymous',
  handler: createHttpHandler(() => getApp().catch(startupFailureApp)),
});

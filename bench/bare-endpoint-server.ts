/**
 * B3's baseline: the same server stack as `nexus serve` (Node http, @hono/node-server, the Nexus
 * app with its request log) with one bare route that reads the body and answers 200, storing
 * nothing. The difference to Nexus is exactly the webhook work: lookup, signature, dedupe, storage.
 *
 *   node bench/bare-endpoint-server.ts <data dir>
 */
import { serve } from '@hono/node-server';
import type { Context } from 'hono';
import { ApiKeys } from '@nexus/api';
import { createApp } from '@nexus/api';
import { createLogger } from '@nexus/api';
import { openEmbeddedStorage } from '@nexus/api';

const storage = await openEmbeddedStorage(process.argv[2] ?? 'bare-data');
const app = createApp({
  storage,
  storageKind: 'embedded',
  apiKeys: new ApiKeys(['unused']),
  logger: createLogger({ level: 'info', name: 'bare' }),
  maxTranscriptBytes: 1024,
  version: 'bench',
});
app.post('/bare/:id', async (c: Context) => {
  await c.req.arrayBuffer();
  return c.json({ status: 'accepted' }, 200);
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  console.log(`listening on http://127.0.0.1:${String(info.port)}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

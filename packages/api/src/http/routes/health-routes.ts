import type { Hono } from 'hono';
import { coerceError, type Storage } from '@nexus/core';
import { route } from '../route-table.ts';

/** `GET /v1/health`: open to anyone (load balancers, uptime checks); proves storage answers. */
export function healthRoutes(
  app: Hono,
  deps: { storage: Storage; version: string; storageKind: string },
): void {
  route(app, '/v1/health', {
    GET: async (c) => {
      try {
        await deps.storage.check();
        return c.json({ status: 'ok', version: deps.version, storage: deps.storageKind });
      } catch (error) {
        c.header('retry-after', '5');
        return c.json(
          {
            status: 'unavailable',
            version: deps.version,
            storage: deps.storageKind,
            error: coerceError(error).message,
          },
          503,
        );
      }
    },
  });
}

import type { NexusApp } from '../app-env.ts';
import { InsufficientStorageError, coerceError, type Storage } from '@nexus/core';
import { route } from '../route-table.ts';

/**
 * `GET /v1/health`: open to anyone (load balancers, uptime checks); proves storage answers, and
 * answers 503 `degraded` while writes fail for lack of space.
 */
export function healthRoutes(
  app: NexusApp,
  deps: { storage: Storage; version: string; storageKind: string },
): void {
  route(app, '/v1/health', {
    GET: async (c) => {
      try {
        await deps.storage.check();
        return c.json({ status: 'ok', version: deps.version, storage: deps.storageKind });
      } catch (error) {
        c.header('retry-after', '5');
        // Degraded: reads work, writes fail (a full disk); unavailable: storage does not answer.
        return c.json(
          {
            status: error instanceof InsufficientStorageError ? 'degraded' : 'unavailable',
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

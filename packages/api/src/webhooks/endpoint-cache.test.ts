import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { endpointEntity, newEndpoint } from './endpoint.ts';
import { ENDPOINT_CACHE_MS, EndpointCache } from './endpoint-cache.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');

describe('EndpointCache', () => {
  it('trusts a lookup, or an absence, for a second; an invalidation at once', async () => {
    const storage = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-epc-')));
    let now = T0;
    const cache = new EndpointCache(storage, () => now);
    const endpoint = newEndpoint(
      {
        id: 'ep',
        hostId: 'laptop',
        agentId: 'main',
        provider: 'github',
        action: 'agent',
        enabled: true,
      },
      new Date(T0),
    );
    expect(await cache.get('ep')).toBeUndefined();
    await storage.tables.insert('endpoints', endpointEntity(endpoint));
    expect(await cache.get('ep')).toBeUndefined(); // the absence is still trusted
    now += ENDPOINT_CACHE_MS;
    expect((await cache.get('ep'))?.enabled).toBe(true);

    const row = await storage.tables.get('endpoints', 'endpoint', 'ep');
    await storage.tables.update(
      'endpoints',
      endpointEntity({ ...endpoint, enabled: false }),
      row?.etag ?? '',
    );
    expect((await cache.get('ep'))?.enabled).toBe(true); // another process changed it: not yet
    cache.invalidate('ep');
    expect((await cache.get('ep'))?.enabled).toBe(false);
    await storage.close();
  });
});

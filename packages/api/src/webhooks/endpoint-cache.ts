import { ENDPOINTS_PARTITION, endpointFromEntity, type Endpoint } from './endpoint.ts';
import type { Storage } from '@nexus/core';

/** How long a looked-up endpoint (or its absence) is trusted without reading it again. */
export const ENDPOINT_CACHE_MS = 1000;

/**
 * Endpoints as the hook URL needs them, read at most once a second per endpoint and process: the
 * lookup was a tenth of a delivery's cost under load (bench B3). A change made through this
 * process (create, disable, rotate, remove) applies at once; one made through another process
 * (another Functions instance) within `ENDPOINT_CACHE_MS`.
 */
export class EndpointCache {
  private readonly entries = new Map<string, { endpoint: Endpoint | undefined; until: number }>();
  private readonly storage: Storage;
  private readonly nowMs: () => number;

  constructor(storage: Storage, nowMs: () => number = Date.now) {
    this.storage = storage;
    this.nowMs = nowMs;
  }

  async get(id: string): Promise<Endpoint | undefined> {
    const now = this.nowMs();
    const cached = this.entries.get(id);
    if (cached && cached.until > now) return cached.endpoint;
    const row = await this.storage.tables.get('endpoints', ENDPOINTS_PARTITION, id);
    const endpoint = row ? endpointFromEntity(row) : undefined;
    // Bounded: a flood of made-up ids must not grow the map without end.
    if (this.entries.size >= 10_000) this.entries.clear();
    this.entries.set(id, { endpoint, until: now + ENDPOINT_CACHE_MS });
    return endpoint;
  }

  invalidate(id: string): void {
    this.entries.delete(id);
  }
}

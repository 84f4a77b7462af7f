import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  type Storage,
  type StoredEntity,
  type WebhookSettlement,
} from '@nexus/core';
import { deliveryActionOf } from './endpoint.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import { decideFailure, type RetryPolicy } from './retry-policy.ts';
import {
  blobKeyOf,
  idOfKey,
  itemFromEntity,
  itemProperties,
  timeKey,
  timeOfKey,
  type DeliveryAction,
  type WebhookItem,
  type WebhookState,
} from './webhook-item.ts';

export interface RetentionPolicy {
  /** How long a delivered item (and its body) is kept; its dedupe record goes with it. */
  readonly deliveredMs: number;
  /** How long a dead-lettered item is kept for inspection and replay; 0 keeps it until removed. */
  readonly deadMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  deliveredMs: 7 * 24 * 3600_000,
  deadMs: 30 * 24 * 3600_000,
};

export interface WebhookQueueOptions {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly retry: RetryPolicy;
  readonly retention: RetentionPolicy;
  readonly random?: () => number;
  /** Where claims look up an endpoint's current action (shared with the hook URL). */
  readonly endpoints: EndpointCache;
}

export interface ClaimedItem {
  readonly item: WebhookItem;
  readonly leaseId: string;
  readonly leaseUntil: string;
  /** The endpoint's current action (so a corrected template applies to a replay), else the one it had. */
  readonly delivery: DeliveryAction;
}

/** Dead items kept "forever" still get an expiry row, at the end of time, so listing by state sees them. */
const FOREVER_MS = 9_999_999_999_999;
/** An index row whose item does not exist may belong to an ingestion still under way; leave it this long. */
const ORPHAN_GRACE_MS = 5 * 60_000;
const SWEEP_EVERY_MS = 60_000;
const LIST_SCAN_ROWS = 1000;

/**
 * The durable webhook queue over the storage contract, so it works on both backends. Every state
 * change is a conditional update of the item's row (its ETag), so two workers never both hold an
 * item: the second update fails and that worker skips it.
 */
export class WebhookQueue {
  private readonly options: WebhookQueueOptions;
  private readonly random: () => number;
  private readonly lastSweep = new Map<string, number>();

  constructor(options: WebhookQueueOptions) {
    this.options = options;
    this.random = options.random ?? Math.random;
  }

  private get tables() {
    return this.options.storage.tables;
  }

  private nowMs(): number {
    return this.options.now().getTime();
  }

  /** Stores a new pending item; `false` when an item with this id exists (a duplicate delivery). */
  async enqueue(
    item: Omit<
      WebhookItem,
      | 'state'
      | 'attempts'
      | 'dueKey'
      | 'expiryKey'
      | 'leaseId'
      | 'leaseUntil'
      | 'availableAt'
      | 'lastAttemptAt'
      | 'lastError'
      | 'lastStatus'
      | 'deliveredAt'
      | 'lastDeliveredAt'
      | 'deadAt'
      | 'replays'
      | 'replayedAt'
      | 'leaseSalt'
      | 'leaseSeq'
    >,
  ): Promise<boolean> {
    const now = this.nowMs();
    const dueKey = timeKey(now, item.id);
    // The item and its index row together (one transaction), or neither: a duplicate delivery
    // (an item with this id exists) writes nothing.
    return this.tables.transact([
      {
        op: 'insert',
        table: 'webhookQueue',
        entity: { partitionKey: item.agentId, rowKey: dueKey, properties: {} },
      },
      {
        op: 'insert',
        table: 'webhooks',
        entity: {
          partitionKey: item.agentId,
          rowKey: item.id,
          properties: itemProperties({
            ...item,
            state: 'pending',
            attempts: 0,
            dueKey,
            expiryKey: '',
            leaseId: '',
            leaseUntil: '',
            availableAt: new Date(now).toISOString(),
            lastAttemptAt: '',
            lastError: '',
            lastStatus: 0,
            deliveredAt: '',
            lastDeliveredAt: '',
            deadAt: '',
            replays: 0,
            replayedAt: '',
            leaseSalt: randomBytes(16).toString('hex'),
            leaseSeq: 0,
          }),
        },
      },
    ]);
  }

  async get(agentId: string, id: string): Promise<(WebhookItem & { etag: string }) | undefined> {
    const row = await this.tables.get('webhooks', agentId, id);
    return row ? itemFromEntity(row) : undefined;
  }

  async require(agentId: string, id: string): Promise<WebhookItem & { etag: string }> {
    const item = await this.get(agentId, id);
    if (!item)
      throw new NotFoundError(
        `There is no webhook ${id} for agent ${agentId}; it may have passed its retention.`,
        'webhook_not_found',
      );
    return item;
  }

  /** The exact bytes the sender posted. */
  async body(item: WebhookItem): Promise<Uint8Array> {
    if (item.inlineBody !== undefined) return Buffer.from(item.inlineBody, 'base64');
    const { body } = await this.options.storage.blobs.get(blobKeyOf(item.agentId, item.id));
    const parts: Uint8Array[] = [];
    for await (const part of body) parts.push(part);
    return Buffer.concat(parts);
  }

  /**
   * Leases up to `max` items that are due (pending, failed ones whose backoff passed, leased ones
   * whose lease expired), oldest first, agent by agent.
   */
  async claim(agentIds: readonly string[], max: number, leaseMs: number): Promise<ClaimedItem[]> {
    const claimed: ClaimedItem[] = [];
    for (const agentId of agentIds) {
      if (claimed.length >= max) break;
      await this.sweepIfDue(agentId);
      const now = this.nowMs();
      const page = await this.tables.query('webhookQueue', agentId, {
        rowKeyTo: timeKey(now + 1, ''),
        limit: Math.min(1000, (max - claimed.length) * 2),
      });
      // Claim in parallel, but never more than still wanted: stale rows just yield nothing.
      // Each lease ends 1 ms after the one before: items whose leases expire together come back
      // in the order they were claimed (oldest first), not in the order of their ids.
      let rows = page.items;
      let position = 0;
      while (rows.length > 0 && claimed.length < max) {
        const chunk = rows.slice(0, max - claimed.length);
        rows = rows.slice(chunk.length);
        const results = await Promise.all(
          chunk.map((row) => this.claimOne(agentId, row, now, leaseMs + position++)),
        );
        for (const result of results) {
          if (!result) continue;
          const action = await this.currentAction(result.item.endpointId);
          claimed.push({ ...result, delivery: action ?? result.item.delivery });
        }
      }
    }
    return claimed;
  }

  private async claimOne(
    agentId: string,
    row: StoredEntity,
    now: number,
    leaseMs: number,
  ): Promise<Omit<ClaimedItem, 'delivery'> | undefined> {
    const item = await this.get(agentId, idOfKey(row.rowKey));
    if (!item) {
      if (timeOfKey(row.rowKey) < now - ORPHAN_GRACE_MS)
        await this.deleteIndex('webhookQueue', agentId, row.rowKey);
      return undefined;
    }
    if (item.dueKey !== row.rowKey || (item.state !== 'pending' && item.state !== 'leased')) {
      await this.deleteIndex('webhookQueue', agentId, row.rowKey);
      return undefined;
    }
    if (item.state === 'leased' && item.attempts >= this.options.retry.maxAttempts) {
      // The worker died (or hung) on the last attempt: give up rather than loop on a poison item.
      await this.toFinal(item, 'dead', {
        lastError: `the lease expired on attempt ${item.attempts} of ${this.options.retry.maxAttempts} (the worker stopped while delivering)`,
      }).catch(ignoreConflict);
      return undefined;
    }
    const leaseSalt = item.leaseSalt || randomBytes(16).toString('hex');
    const leaseSeq = item.leaseSeq + 1;
    const leaseId = leaseIdFor(item.id, leaseSalt, leaseSeq);
    const leaseUntil = now + leaseMs;
    const updated = await this.moveInQueue(item, leaseUntil, {
      state: 'leased',
      attempts: item.attempts + 1,
      leaseSalt,
      leaseSeq,
      leaseId,
      leaseUntil: new Date(leaseUntil).toISOString(),
      lastAttemptAt: new Date(now).toISOString(),
    }).catch(ignoreConflict);
    if (!updated) return undefined;
    return { item: updated, leaseId, leaseUntil: updated.leaseUntil };
  }

  private async currentAction(endpointId: string): Promise<DeliveryAction | undefined> {
    const endpoint = await this.options.endpoints.get(endpointId);
    return endpoint && deliveryActionOf(endpoint);
  }

  /**
   * Records what happened to a leased item. `delivered` is accepted with any lease ever issued for
   * the item (the gateway has it: that is the truth, even if the lease expired meanwhile), and
   * refused with one never issued (`unknown_lease`); `failed` and `released` need the current
   * lease, else `lease_lost` (another worker holds it now).
   */
  async settle(request: WebhookSettlement): Promise<WebhookItem> {
    const item = await this.require(request.agentId, request.id);
    const now = this.nowMs();
    if (request.outcome === 'delivered') {
      if (!wasIssued(item, request.leaseId))
        throw new ConflictError(
          'unknown_lease',
          `Lease ${request.leaseId.slice(0, 40)} was never issued for webhook ${item.id}; settle only what a claim returned.`,
        );
      if (item.state === 'delivered') return item;
      const at = new Date(now).toISOString();
      return this.toFinal(item, 'delivered', {
        lastStatus: request.status ?? 0,
        lastError: '',
        deliveredAt: item.deliveredAt || at,
        lastDeliveredAt: at,
      });
    }
    if (item.state !== 'leased' || item.leaseId !== request.leaseId) {
      throw new ConflictError(
        'lease_lost',
        `Webhook ${item.id} is no longer leased to this worker (it is ${item.state}); its lease expired and it was claimed again, or it was settled already.`,
      );
    }
    const reason = request.reason.slice(0, 1000);
    const retryAfterMs = (request.retryAfterSeconds ?? 0) * 1000;
    if (request.outcome === 'released') {
      return this.moveInQueue(item, now + retryAfterMs, {
        state: 'pending',
        attempts: Math.max(0, item.attempts - 1),
        leaseId: '',
        leaseUntil: '',
        lastError: reason,
        lastStatus: request.status ?? 0,
      });
    }
    const decision = decideFailure(item.attempts, this.options.retry, this.random, retryAfterMs);
    if (decision.kind === 'dead')
      return this.toFinal(item, 'dead', {
        lastError: reason,
        lastStatus: request.status ?? 0,
      });
    return this.moveInQueue(item, now + decision.delayMs, {
      state: 'pending',
      leaseId: '',
      leaseUntil: '',
      lastError: reason,
      lastStatus: request.status ?? 0,
    });
  }

  /** Puts a delivered or dead item back in the queue, due now, with its attempts reset. */
  async replay(agentId: string, id: string): Promise<WebhookItem> {
    const item = await this.require(agentId, id);
    if (item.state !== 'delivered' && item.state !== 'dead') {
      throw new ConflictError(
        'not_replayable',
        `Webhook ${id} is ${item.state}: it is still in the queue. Only delivered or dead items can be replayed.`,
      );
    }
    // The first delivery's time stays; the replay is counted, so the worker gives the gateway a
    // new idempotency key (OpenClaw drops a key it saw in the last 5 minutes).
    const updated = await this.moveInQueue(item, this.nowMs(), {
      state: 'pending',
      attempts: 0,
      expiryKey: '',
      leaseId: '',
      leaseUntil: '',
      lastError: '',
      lastStatus: 0,
      deadAt: '',
      replays: item.replays + 1,
      replayedAt: new Date(this.nowMs()).toISOString(),
    });
    await this.deleteIndex('webhookExpiry', agentId, item.expiryKey);
    return updated;
  }

  /**
   * Items of one agent, optionally in one state. With a state, the index tables give time order
   * (pending and leased by when they are due, delivered and dead by when they expire); without one,
   * all items in id order. Scans at most 1,000 rows per call and returns a cursor to go on.
   */
  async list(
    agentId: string,
    options: { state?: WebhookState; limit: number; cursor?: string },
  ): Promise<{ items: WebhookItem[]; cursor?: string }> {
    const { state, limit } = options;
    const table =
      state === undefined
        ? 'webhooks'
        : state === 'pending' || state === 'leased'
          ? 'webhookQueue'
          : 'webhookExpiry';
    const items: WebhookItem[] = [];
    let storageCursor: string | undefined;
    let scanned = 0;
    for (;;) {
      const page = await this.tables.query(table, agentId, {
        ...(options.cursor === undefined ? {} : { rowKeyFrom: options.cursor }),
        ...(storageCursor === undefined ? {} : { cursor: storageCursor }),
        limit: 200,
      });
      for (const row of page.items) {
        if (row.rowKey === options.cursor) continue; // the cursor is the last row already shown
        scanned += 1;
        const item =
          table === 'webhooks' ? itemFromEntity(row) : await this.get(agentId, idOfKey(row.rowKey));
        const current =
          item !== undefined &&
          (table === 'webhooks' ||
            (table === 'webhookQueue' ? item.dueKey : item.expiryKey) === row.rowKey);
        if (current && (state === undefined || item.state === state)) items.push(item);
        if (items.length >= limit || scanned >= LIST_SCAN_ROWS)
          return { items, cursor: row.rowKey };
      }
      if (page.cursor === undefined) return { items };
      storageCursor = page.cursor;
    }
  }

  /** Removes delivered and dead items whose retention has passed: body, row and index. */
  async sweep(agentId: string): Promise<number> {
    const now = this.nowMs();
    let removed = 0;
    for (;;) {
      const page = await this.tables.query('webhookExpiry', agentId, {
        rowKeyTo: timeKey(now + 1, ''),
        limit: 200,
      });
      for (const row of page.items) {
        const item = await this.get(agentId, idOfKey(row.rowKey));
        if (
          item?.expiryKey === row.rowKey &&
          (item.state === 'delivered' || item.state === 'dead')
        ) {
          // The row first: a crash after it leaves an orphaned blob, never a row without its body.
          try {
            await this.tables.delete('webhooks', agentId, item.id, item.etag);
            removed += 1;
          } catch (error) {
            if (!(error instanceof PreconditionFailedError)) throw error;
            continue; // replayed meanwhile: its expiry row is stale now, and the replay removes it.
          }
          if (item.inlineBody === undefined)
            await this.options.storage.blobs.delete(blobKeyOf(agentId, item.id));
        }
        await this.deleteIndex('webhookExpiry', agentId, row.rowKey);
      }
      if (page.items.length < 200) return removed;
    }
  }

  private async sweepIfDue(agentId: string): Promise<void> {
    const now = this.nowMs();
    if (now - (this.lastSweep.get(agentId) ?? 0) < SWEEP_EVERY_MS) return;
    this.lastSweep.set(agentId, now);
    await this.sweep(agentId);
  }

  /** Gives an item a new place in the queue: new index row, conditional item update, old row gone. */
  private async moveInQueue(
    item: WebhookItem & { etag: string },
    dueMs: number,
    changes: Partial<WebhookItem>,
  ): Promise<WebhookItem & { etag: string }> {
    const dueKey = timeKey(dueMs, item.id);
    await this.insertIndex('webhookQueue', item.agentId, dueKey);
    const updated = {
      ...item,
      ...changes,
      dueKey,
      availableAt: new Date(dueMs).toISOString(),
    };
    let etag: string;
    try {
      etag = await this.updateItem(updated, item.etag);
    } catch (error) {
      if (dueKey !== item.dueKey) await this.deleteIndex('webhookQueue', item.agentId, dueKey);
      throw error;
    }
    if (item.dueKey !== '' && item.dueKey !== dueKey)
      await this.deleteIndex('webhookQueue', item.agentId, item.dueKey);
    return { ...updated, etag };
  }

  /** Out of the queue into `delivered` or `dead`, with an expiry row for retention. */
  private async toFinal(
    item: WebhookItem & { etag: string },
    state: 'delivered' | 'dead',
    changes: Partial<WebhookItem>,
  ): Promise<WebhookItem & { etag: string }> {
    const now = this.nowMs();
    const keepMs =
      state === 'delivered' ? this.options.retention.deliveredMs : this.options.retention.deadMs;
    const expiryKey = timeKey(keepMs === 0 ? FOREVER_MS : now + keepMs, item.id);
    await this.insertIndex('webhookExpiry', item.agentId, expiryKey);
    const updated = {
      ...item,
      ...changes,
      state,
      dueKey: '',
      expiryKey,
      leaseId: '',
      leaseUntil: '',
      ...(state === 'dead' ? { deadAt: new Date(now).toISOString() } : {}),
    };
    let etag: string;
    try {
      etag = await this.updateItem(updated, item.etag);
    } catch (error) {
      await this.deleteIndex('webhookExpiry', item.agentId, expiryKey);
      throw error;
    }
    await this.deleteIndex('webhookQueue', item.agentId, item.dueKey);
    if (item.expiryKey !== '' && item.expiryKey !== expiryKey)
      await this.deleteIndex('webhookExpiry', item.agentId, item.expiryKey);
    return { ...updated, etag };
  }

  private updateItem(item: WebhookItem, etag: string): Promise<string> {
    return this.tables.update(
      'webhooks',
      { partitionKey: item.agentId, rowKey: item.id, properties: itemProperties(item) },
      etag,
    );
  }

  private async insertIndex(table: string, agentId: string, key: string): Promise<void> {
    try {
      await this.tables.insert(table, { partitionKey: agentId, rowKey: key, properties: {} });
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }

  private async deleteIndex(table: string, agentId: string, key: string): Promise<void> {
    if (key !== '') await this.tables.delete(table, agentId, key);
  }
}

/** A lease id: its number, and a MAC of it under the item's secret. */
function leaseIdFor(id: string, salt: string, seq: number): string {
  return `${String(seq)}-${createHmac('sha256', salt)
    .update(`${id}:${String(seq)}`)
    .digest('hex')
    .slice(0, 24)}`;
}

/** Whether `leaseId` is one of the leases issued for `item` so far. */
function wasIssued(item: WebhookItem, leaseId: string): boolean {
  // Items leased before lease ids were numbered: only the current lease can be checked.
  if (item.leaseSalt === '') return leaseId === item.leaseId || item.leaseId === '';
  const seq = Number(/^(\d{1,9})-[0-9a-f]{24}$/.exec(leaseId)?.[1] ?? NaN);
  if (!Number.isInteger(seq) || seq < 1 || seq > item.leaseSeq) return false;
  const expected = Buffer.from(leaseIdFor(item.id, item.leaseSalt, seq));
  const given = Buffer.from(leaseId);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Another worker changed the item first: it is theirs, skip it. */
function ignoreConflict(error: unknown): undefined {
  if (error instanceof PreconditionFailedError || error instanceof NotFoundError) return undefined;
  throw error;
}

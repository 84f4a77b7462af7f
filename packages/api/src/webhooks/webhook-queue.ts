import { randomBytes } from 'node:crypto';
import {
  insertIfAbsent,
  NotFoundError,
  PreconditionFailedError,
  scopeKey,
  type AgentScope,
  type Storage,
  type StoredEntity,
  type TableWrite,
  type WebhookSettlement,
} from '@nexus/core';
import { deliveryActionOf } from './endpoint.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import { listItems } from './queue-listing.ts';
import { QueueSignal } from './queue-signal.ts';
import { sweepExpired } from './queue-retention.ts';
import { transition, type Transition, type TransitionContext } from './queue-transitions.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { deadNoticeFor, isNotice } from './dead-notice.ts';
import { deadRowKey, DEAD_TABLE } from './dead-index.ts';
import {
  afterPausedKeys,
  blobKeyOf,
  idOfKey,
  partsOfPausedKey,
  pausedRowKey,
  readItem,
  arrivingItem,
  itemProperties,
  timeKey,
  timeOfKey,
  type DeliveryAction,
  type QueueFields,
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
/**
 * A waiting claim looks at storage again this often: items that fell due meanwhile (a backoff
 * ended) or arrived through another instance. Arrivals in this process wake it at once.
 */
const WAIT_RECHECK_MS = 5_000;

/**
 * The durable webhook queue over the storage contract, so it works on both backends. Every state
 * change is a conditional update of the item's row (its ETag), so two workers never both hold an
 * item: the second update fails and that worker skips it.
 */
export class WebhookQueue {
  private readonly options: WebhookQueueOptions;
  private readonly random: () => number;
  private readonly lastSweep = new Map<string, number>();
  private readonly arrivals = new QueueSignal();

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

  /**
   * Stores a new item; `false` when an item with this id exists (a duplicate delivery). `queue`:
   * pending, due now; `paused`: its endpoint is paused, kept until it is resumed; `filtered`: an
   * event type the endpoint does not accept, kept as a delivered item is, never delivered.
   */
  async enqueue(
    item: Omit<WebhookItem, keyof QueueFields>,
    placement: 'queue' | 'paused' | 'filtered' = 'queue',
  ): Promise<boolean> {
    const now = this.nowMs();
    const arriving = arrivingItem(timeKey(now, item.id), now, randomBytes(16).toString('hex'));
    let index: { table: string; rowKey: string };
    let fields: QueueFields;
    if (placement === 'queue') {
      index = { table: 'webhookQueue', rowKey: arriving.dueKey };
      fields = arriving;
    } else if (placement === 'paused') {
      const key = pausedRowKey(item.endpointId, now, item.id);
      index = { table: 'webhookPaused', rowKey: key };
      fields = {
        ...arriving,
        state: 'paused',
        dueKey: '',
        pausedKey: key,
        pausedAt: new Date(now).toISOString(),
      };
    } else {
      const key = timeKey(now + this.options.retention.deliveredMs, item.id);
      index = { table: 'webhookExpiry', rowKey: key };
      fields = { ...arriving, state: 'filtered', dueKey: '', expiryKey: key };
    }
    // The item and its index row together (one transaction), or neither: a duplicate delivery
    // (an item with this id exists) writes nothing.
    const stored = await this.tables.transact([
      {
        op: 'insert',
        table: index.table,
        entity: { partitionKey: scopeKey(item), rowKey: index.rowKey, properties: {} },
      },
      {
        op: 'insert',
        table: 'webhooks',
        entity: {
          partitionKey: scopeKey(item),
          rowKey: item.id,
          properties: itemProperties({ ...item, ...fields }),
        },
      },
    ]);
    if (stored && placement === 'queue') this.arrivals.notify(item);
    return stored !== false;
  }

  async get(scope: AgentScope, id: string): Promise<(WebhookItem & { etag: string }) | undefined> {
    return readItem(this.tables, scope, id);
  }

  async require(scope: AgentScope, id: string): Promise<WebhookItem & { etag: string }> {
    const item = await this.get(scope, id);
    if (!item)
      throw new NotFoundError(
        `There is no webhook ${id} for agent ${scope.agentId} of host ${scope.hostId}; it may have passed its retention.`,
        'webhook_not_found',
      );
    return item;
  }

  /** The exact bytes the sender posted. */
  async body(item: WebhookItem): Promise<Uint8Array> {
    if (item.inlineBody !== undefined) return Buffer.from(item.inlineBody, 'base64');
    const { body } = await this.options.storage.blobs.get(blobKeyOf(item, item.id));
    const parts: Uint8Array[] = [];
    for await (const part of body) parts.push(part);
    return Buffer.concat(parts);
  }

  /**
   * Leases up to `max` items that are due (pending, failed ones whose backoff passed, leased ones
   * whose lease expired), oldest first, agent by agent.
   */
  async claim(scopes: readonly AgentScope[], max: number, leaseMs: number): Promise<ClaimedItem[]> {
    const claimed: ClaimedItem[] = [];
    for (const scope of scopes) {
      if (claimed.length >= max) break;
      await this.sweepIfDue(scope);
      const now = this.nowMs();
      const page = await this.tables.query('webhookQueue', scopeKey(scope), {
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
          chunk.map((row) => this.claimOne(scope, row, now, leaseMs + position++)),
        );
        for (const result of results) if (result) claimed.push(result);
      }
    }
    return claimed;
  }

  /**
   * `claim`, and when nothing is due, waiting up to `waitMs` for something to be: woken at once
   * by an arrival in this process, looking again every few seconds otherwise. Returns early, with
   * nothing, when `signal` aborts (the client went away, the server is stopping).
   */
  async claimWaiting(
    scopes: readonly AgentScope[],
    max: number,
    leaseMs: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<ClaimedItem[]> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const claimed = await this.claim(scopes, max, leaseMs);
      const left = deadline - performance.now();
      if (claimed.length > 0 || left <= 0 || signal.aborted) return claimed;
      await this.arrivals.wait(scopes, Math.min(left, WAIT_RECHECK_MS), signal);
    }
  }

  private async claimOne(
    scope: AgentScope,
    row: StoredEntity,
    now: number,
    leaseMs: number,
  ): Promise<ClaimedItem | undefined> {
    const item = await this.get(scope, idOfKey(row.rowKey));
    if (!item) {
      if (timeOfKey(row.rowKey) < now - ORPHAN_GRACE_MS)
        await this.deleteIndex('webhookQueue', scope, row.rowKey);
      return undefined;
    }
    if (item.dueKey !== row.rowKey || (item.state !== 'pending' && item.state !== 'leased')) {
      await this.deleteIndex('webhookQueue', scope, row.rowKey);
      return undefined;
    }
    // Nexus's own notices go as they were made; a webhook goes with its endpoint's current
    // action (a corrected template applies to a replay), or waits while the endpoint is paused.
    const endpoint = isNotice(item) ? undefined : await this.options.endpoints.get(item.endpointId);
    if (endpoint?.paused === true) {
      await this.apply(item, transition(item, { type: 'hold' }, this.context(now))).catch(
        ignoreConflict,
      );
      return undefined;
    }
    const next = transition(
      item,
      { type: 'claim', leaseMs, newSalt: randomBytes(16).toString('hex') },
      this.context(now),
    );
    const updated = await this.apply(item, next).catch(ignoreConflict);
    if (!updated || next.to !== 'queue' || next.leaseId === undefined) return undefined;
    return {
      item: updated,
      leaseId: next.leaseId,
      leaseUntil: updated.leaseUntil,
      delivery: endpoint ? deliveryActionOf(endpoint) : item.delivery,
    };
  }

  /**
   * Puts the paused items of an endpoint back in the queue, in the order they were due, for
   * up to `budgetMs`; returns how many and whether some are left (the queue's periodic check goes
   * on with them: `releaseResumed`).
   */
  async resume(
    scope: AgentScope,
    endpointId: string,
    budgetMs = 10_000,
  ): Promise<{ resumed: number; done: boolean }> {
    const deadline = performance.now() + budgetMs;
    let resumed = 0;
    let done = true;
    let from = `${endpointId}~`;
    for (let more = true; more && done;) {
      const page = await this.tables.query('webhookPaused', scopeKey(scope), {
        rowKeyFrom: from,
        rowKeyTo: afterPausedKeys(endpointId),
        limit: 100,
      });
      more = page.items.length === 100;
      for (const row of page.items) {
        if (row.rowKey === from) continue; // the last row of the page before, left in place
        if (performance.now() > deadline) {
          done = false;
          break;
        }
        if (await this.resumeOne(scope, row.rowKey)) resumed += 1;
        from = row.rowKey;
      }
    }
    if (resumed > 0) this.arrivals.notify(scope);
    return { resumed, done };
  }

  private async resumeOne(scope: AgentScope, rowKey: string): Promise<boolean> {
    const { ms, id } = partsOfPausedKey(rowKey);
    const item = await this.get(scope, id);
    if (item?.state === 'paused' && item.pausedKey === rowKey) {
      const moved = await this.apply(
        item,
        transition(item, { type: 'resume', dueMs: ms }, this.context()),
      ).catch(ignoreConflict);
      return moved !== undefined;
    }
    // A row its item does not point at: stale (the item is gone, out of the queue, or paused
    // under another row), unless the item is still queued: a pause under way, or one that
    // crashed before its item changed (the next claim pauses or delivers it). Those stay.
    const queued = item?.state === 'pending' || item?.state === 'leased';
    if (!queued) await this.deleteIndex('webhookPaused', scope, rowKey);
    return false;
  }

  /**
   * Resumes the items of endpoints that are no longer paused (or were removed): what a resume
   * left for later, or an item another instance paused while it still had the endpoint cached as
   * paused. One row read per paused endpoint, however many items it holds.
   */
  private async releaseResumed(scope: AgentScope): Promise<void> {
    let from = '';
    for (;;) {
      const page = await this.tables.query('webhookPaused', scopeKey(scope), {
        rowKeyFrom: from,
        limit: 1,
      });
      const [row] = page.items;
      if (!row) return;
      const { endpointId } = partsOfPausedKey(row.rowKey);
      this.options.endpoints.invalidate(endpointId);
      const endpoint = await this.options.endpoints.get(endpointId);
      if (endpoint?.paused !== true) await this.resume(scope, endpointId);
      from = afterPausedKeys(endpointId);
    }
  }

  /** Records what happened to a leased item (the rules: `queue-transitions.ts`). */
  async settle(request: WebhookSettlement): Promise<WebhookItem> {
    const item = await this.require(request, request.id);
    const next = transition(item, { type: 'settle', settlement: request }, this.context());
    return this.apply(item, next);
  }

  /** Puts a delivered or dead item back in the queue, due now, with its attempts reset. */
  async replay(scope: AgentScope, id: string): Promise<WebhookItem> {
    const item = await this.require(scope, id);
    const updated = await this.apply(item, transition(item, { type: 'replay' }, this.context()));
    if (item.state === 'dead') await this.tables.delete(DEAD_TABLE, item.hostId, deadRowKey(item));
    this.arrivals.notify(scope);
    return updated;
  }

  private context(nowMs = this.nowMs()): TransitionContext {
    return { nowMs, retry: this.options.retry, random: this.random };
  }

  /** Carries out a transition on storage: a new place in the queue, or out of it. */
  private apply(
    item: WebhookItem & { etag: string },
    next: Transition,
  ): Promise<WebhookItem & { etag: string }> {
    switch (next.to) {
      case 'unchanged':
        return Promise.resolve(item);
      case 'queue':
        return this.moveInQueue(item, next.dueMs, next.changes);
      case 'paused':
        return this.toPaused(item, next.changes);
      case 'final':
        return this.toFinal(item, next.state, next.changes);
    }
  }

  /** Items of one agent, optionally in one state, a page at a time (`queue-listing.ts`). */
  list(
    scope: AgentScope,
    options: { state?: WebhookState; limit: number; cursor?: string },
  ): Promise<{ items: WebhookItem[]; cursor?: string }> {
    return listItems(this.tables, scope, options);
  }

  /** Removes delivered and dead items whose retention has passed (`queue-retention.ts`). */
  sweep(scope: AgentScope): Promise<number> {
    return sweepExpired(this.options.storage, scope, this.nowMs());
  }

  private async sweepIfDue(scope: AgentScope): Promise<void> {
    const now = this.nowMs();
    if (now - (this.lastSweep.get(scopeKey(scope)) ?? 0) < SWEEP_EVERY_MS) return;
    this.lastSweep.set(scopeKey(scope), now);
    await this.sweep(scope);
    await this.releaseResumed(scope);
  }

  /** Gives an item a new place in the queue. */
  private moveInQueue(
    item: WebhookItem & { etag: string },
    dueMs: number,
    changes: Partial<WebhookItem>,
  ): Promise<WebhookItem & { etag: string }> {
    return this.change(item, {
      ...item,
      ...changes,
      dueKey: timeKey(dueMs, item.id),
      availableAt: new Date(dueMs).toISOString(),
    });
  }

  /** Out of the queue while its endpoint is paused, with a `webhookPaused` row to find it by. */
  private toPaused(
    item: WebhookItem & { etag: string },
    changes: Partial<WebhookItem>,
  ): Promise<WebhookItem & { etag: string }> {
    // Keyed by when it was due, so a resume puts it back in the order it would have gone out.
    const dueMs = item.dueKey === '' ? this.nowMs() : timeOfKey(item.dueKey);
    const key = pausedRowKey(item.endpointId, dueMs, item.id);
    return this.change(item, { ...item, ...changes, dueKey: '', pausedKey: key });
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
    // The dead index is partitioned by host, not by agent: a write of its own, before the item
    // says dead (a crash between them leaves a row the listing skips, never a dead item unlisted).
    if (state === 'dead')
      await insertIfAbsent(this.tables, DEAD_TABLE, {
        partitionKey: item.hostId,
        rowKey: deadRowKey(item),
        properties: { deadAt: new Date(now).toISOString() },
      });
    const updated = await this.change(item, {
      ...item,
      ...changes,
      state,
      dueKey: '',
      expiryKey: timeKey(keepMs === 0 ? FOREVER_MS : now + keepMs, item.id),
      leaseId: '',
      leaseUntil: '',
      ...(state === 'dead' ? { deadAt: new Date(now).toISOString() } : {}),
    });
    if (state === 'dead') await this.noticeDead(updated);
    return updated;
  }

  /**
   * Writes an item's new version and its index rows in one transaction (one commit here, one
   * round trip on Azure): the rows it points at now are written, the ones it pointed at before
   * removed, and the item replaced only while its ETag is the one read. Resolves with the new
   * version; `PreconditionFailedError` when the item changed meanwhile, `NotFoundError` when it is
   * gone, and then nothing was written.
   */
  private async change(
    item: WebhookItem & { etag: string },
    updated: WebhookItem,
  ): Promise<WebhookItem & { etag: string }> {
    const before = indexRowsOf(item);
    const after = indexRowsOf(updated);
    const scope = scopeKey(item);
    const added: TableWrite[] = after
      .filter((row) => !before.some((old) => sameRow(old, row)))
      .map(({ table, rowKey }) => ({
        op: 'upsert',
        table,
        entity: { partitionKey: scope, rowKey, properties: {} },
      }));
    const removed: TableWrite[] = before
      .filter((row) => !after.some((now) => sameRow(now, row)))
      .map(({ table, rowKey }) => ({ op: 'delete', table, key: { partitionKey: scope, rowKey } }));
    const replace: TableWrite = {
      op: 'update',
      table: 'webhooks',
      entity: { partitionKey: scope, rowKey: item.id, properties: itemProperties(updated) },
      etag: item.etag,
    };
    const written =
      (await this.tables.transact([...added, replace, ...removed])) ||
      // Refused. A row the item pointed at may be gone already (a stale-row sweep, an older
      // version's crash between its writes): when the item itself is as it was read, the same
      // change without those removals; a row left behind is stale, and readers drop stale rows.
      (removed.length > 0 && (await this.get(item, item.id))?.etag === item.etag
        ? await this.tables.transact([...added, replace])
        : false);
    if (written === false) {
      if (await this.get(item, item.id))
        throw new PreconditionFailedError(`Webhook ${item.id} changed since it was read.`);
      throw new NotFoundError(`There is no webhook ${item.id}.`, 'webhook_not_found');
    }
    return { ...updated, etag: written[added.length] ?? '' };
  }

  /**
   * Wakes the agent with a short notice of a dead item, when its endpoint asks for that
   * (`notifyDead`), at most once per endpoint per hour: the notice is an item of the queue (so
   * it is delivered exactly once, through outages), whose id names the endpoint and the hour.
   */
  private async noticeDead(item: WebhookItem): Promise<void> {
    if (isNotice(item)) return;
    const endpoint = await this.options.endpoints.get(item.endpointId);
    if (endpoint?.notifyDead !== true) return;
    const notice = await deadNoticeFor(item, this.nowMs(), (id) => this.get(item, id));
    if (notice) await this.enqueue(notice);
  }

  private async deleteIndex(table: string, scope: AgentScope, key: string): Promise<void> {
    if (key !== '') await this.tables.delete(table, scopeKey(scope), key);
  }
}

/** The index rows an item points at: its place in the queue, its expiry, its pause. */
function indexRowsOf(item: WebhookItem): { table: string; rowKey: string }[] {
  const rows = [
    { table: 'webhookQueue', rowKey: item.dueKey },
    { table: 'webhookExpiry', rowKey: item.expiryKey },
    { table: 'webhookPaused', rowKey: item.pausedKey },
  ];
  return rows.filter((row) => row.rowKey !== '');
}

function sameRow(a: { table: string; rowKey: string }, b: { table: string; rowKey: string }) {
  return a.table === b.table && a.rowKey === b.rowKey;
}

/** Another worker changed the item first: it is theirs, skip it. */
function ignoreConflict(error: unknown): undefined {
  if (error instanceof PreconditionFailedError || error instanceof NotFoundError) return undefined;
  throw error;
}

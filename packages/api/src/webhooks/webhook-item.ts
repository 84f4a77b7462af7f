import {
  scopeKey,
  scopeOfPartition,
  type AgentScope,
  type DeliveryAction,
  type EntityProperties,
  type EntityValue,
  type StoredEntity,
  type TableStore,
  type WebhookState,
  type WebhookView,
} from '@nexus/core';
import { packJson, unpackJson } from '../transcripts/json-properties.ts';

/**
 * One accepted webhook delivery and where it is in the queue:
 *
 *   pending ──claim──▶ leased ──delivered──▶ delivered ──retention──▶ (removed)
 *      ▲                 │ failed (attempts left: back after a backoff)
 *      └─────────────────┤ released (gateway down or busy: not counted as an attempt)
 *                        │ lease expired (the worker died): claimable again
 *                        └ failed, no attempts left ──▶ dead ──replay──▶ pending
 *
 * The row in `webhooks` (PK `<host>~<agent>`, RK item id) is the truth and the dedupe record. Two index
 * tables point at it: `webhookQueue` (RK `<due ms>_<id>`) orders pending and leased items by when
 * they may be claimed, `webhookExpiry` (RK `<expiry ms>_<id>`) orders delivered and dead items by
 * when retention removes them, `webhookPaused` holds the items of paused endpoints. An item and the
 * index rows it points at change in one transaction (one partition). A stale index row (one its
 * item no longer points at, left by an older version's crash between its writes) is recognised by
 * the reader (its key differs from the item's `dueKey` / `expiryKey` / `pausedKey`) and deleted.
 */
export type { DeliveryAction, WebhookState } from '@nexus/core';
export const WEBHOOK_STATES: readonly WebhookState[] = [
  'pending',
  'leased',
  'delivered',
  'dead',
  'paused',
  'filtered',
];

/** What is known of a webhook when it arrives, as the list shows it. */
type ArrivalFields =
  | 'hostId'
  | 'agentId'
  | 'id'
  | 'endpointId'
  | 'provider'
  | 'eventType'
  | 'dedupeKey'
  | 'receivedAt'
  | 'contentType'
  | 'bytes';

/** A stored webhook: what the list shows of it (the wire's `WebhookView`), and its keeping. */
export interface WebhookItem extends Pick<
  WebhookView,
  ArrivalFields | 'state' | 'attempts' | 'replays'
> {
  readonly headers: Readonly<Record<string, string>>;
  /** Bodies up to `INLINE_BODY_BYTES` live in the row (one write instead of two); larger ones in a blob. */
  readonly inlineBody?: string;
  readonly delivery: DeliveryAction;
  /** The `webhookQueue` row key while pending or leased, else empty. */
  readonly dueKey: string;
  /** The `webhookExpiry` row key while delivered, dead or filtered, else empty. */
  readonly expiryKey: string;
  /** The `webhookPaused` row key while paused (`pausedKey`), else empty. */
  readonly pausedKey: string;
  readonly pausedAt: string;
  readonly leaseId: string;
  readonly leaseUntil: string;
  readonly availableAt: string;
  readonly lastAttemptAt: string;
  readonly lastError: string;
  /** The gateway's HTTP status on the last attempt, 0 when it was not reached. */
  readonly lastStatus: number;
  /** The first delivery's time: kept through replays. */
  readonly deliveredAt: string;
  /** The latest delivery's time (a replay's). */
  readonly lastDeliveredAt: string;
  readonly deadAt: string;
  /** When the owner last replayed it. */
  readonly replayedAt: string;
  /**
   * Leases are numbered and signed with this per-item secret (never shown), so a settlement can be
   * checked against every lease ever issued for the item without keeping them all.
   */
  readonly leaseSalt: string;
  readonly leaseSeq: number;
  /** What happened to it, oldest first: the last `MAX_HISTORY` attempts, expiries and replays. */
  readonly history: readonly AttemptRecord[];
}

/** One thing that happened to an item: an attempt's outcome (with the gateway's answer), or a replay. */
export interface AttemptRecord {
  readonly at: string;
  readonly outcome: 'delivered' | 'failed' | 'released' | 'rejected' | 'expired' | 'replayed';
  /** The gateway's HTTP status; 0 when it was not reached. */
  readonly status?: number;
  readonly error?: string;
}

/** Records kept per item: enough to see a pattern, small enough for every write of its row. */
export const MAX_HISTORY = 20;
/** An error is kept this long in the history (the last one, whole, in `lastError`). */
const HISTORY_ERROR_CHARS = 300;

/** The history with one more record, the oldest dropped beyond `MAX_HISTORY`. Pure. */
export function withRecord(
  history: readonly AttemptRecord[],
  record: AttemptRecord,
): readonly AttemptRecord[] {
  const kept =
    record.error === undefined
      ? record
      : { ...record, error: record.error.slice(0, HISTORY_ERROR_CHARS) };
  return [...history, kept].slice(-MAX_HISTORY);
}

/** What the queue keeps of an item, as it is when the item arrives: pending, due now, never tried. */
export type QueueFields = Omit<WebhookItem, ArrivalFields | 'headers' | 'inlineBody' | 'delivery'>;

export function arrivingItem(dueKey: string, nowMs: number, leaseSalt: string): QueueFields {
  return {
    state: 'pending',
    attempts: 0,
    dueKey,
    expiryKey: '',
    pausedKey: '',
    pausedAt: '',
    leaseId: '',
    leaseUntil: '',
    availableAt: new Date(nowMs).toISOString(),
    lastAttemptAt: '',
    lastError: '',
    lastStatus: 0,
    deliveredAt: '',
    lastDeliveredAt: '',
    deadAt: '',
    replays: 0,
    replayedAt: '',
    leaseSalt,
    leaseSeq: 0,
    history: [],
  };
}

/** 16 KiB is 21,848 base64 characters: under a table property's 32 K, and most webhooks (< 20 KB). */
export const INLINE_BODY_BYTES = 16 * 1024;

export function blobKeyOf(scope: AgentScope, id: string): string {
  return `webhooks/${scopeKey(scope)}/${id}`;
}

/** Index row keys sort by time: 13 digits of milliseconds hold dates until the year 2286. */
export function timeKey(ms: number, id: string): string {
  return `${String(Math.max(0, Math.floor(ms))).padStart(13, '0')}_${id}`;
}

export function timeOfKey(key: string): number {
  return Number(key.slice(0, 13));
}

/**
 * `webhookPaused` row keys: the endpoint, then when the item was paused, so one endpoint's items
 * are one key range in the order they would have gone out. Ids never contain `~`.
 */
export function pausedRowKey(endpointId: string, ms: number, id: string): string {
  return `${endpointId}~${timeKey(ms, id)}`;
}

/**
 * A key after every `webhookPaused` row of `endpointId` and before any other endpoint's: its rows
 * go on with a digit after the `~`, and `~` sorts after every character an id may hold. (No
 * control character: Azure may refuse one even in a query.)
 */
export function afterPausedKeys(endpointId: string): string {
  return `${endpointId}~~`;
}

export function partsOfPausedKey(key: string): { endpointId: string; ms: number; id: string } {
  const at = key.indexOf('~');
  const rest = key.slice(at + 1);
  return { endpointId: key.slice(0, at), ms: timeOfKey(rest), id: idOfKey(rest) };
}

export function idOfKey(key: string): string {
  return key.slice(14);
}

export function itemProperties(item: WebhookItem): Record<string, EntityValue> {
  // Keys and the ETag live outside the properties; a read item carries its ETag along.
  const {
    hostId: _host,
    agentId: _agent,
    id: _id,
    etag: _etag,
    headers,
    inlineBody,
    delivery,
    history,
    ...rest
  } = item as WebhookItem & { etag?: string };
  return {
    ...rest,
    ...(history.length === 0 ? {} : { history: JSON.stringify(history) }),
    ...packJson('headers', headers),
    delivery: JSON.stringify(delivery),
    ...(inlineBody === undefined ? {} : { inlineBody }),
  };
}

export function itemFromEntity(entity: StoredEntity): WebhookItem & { readonly etag: string } {
  const p = entity.properties;
  const text = (name: string) => (typeof p[name] === 'string' ? p[name] : '');
  const number = (name: string) => (typeof p[name] === 'number' ? p[name] : 0);
  const state = text('state');
  return {
    ...scopeOfPartition(entity.partitionKey),
    id: entity.rowKey,
    etag: entity.etag,
    endpointId: text('endpointId'),
    provider: text('provider'),
    eventType: text('eventType'),
    dedupeKey: text('dedupeKey'),
    receivedAt: text('receivedAt'),
    contentType: text('contentType') || 'application/octet-stream',
    bytes: number('bytes'),
    headers: headersOf(p),
    ...(typeof p['inlineBody'] === 'string' ? { inlineBody: p['inlineBody'] } : {}),
    delivery: deliveryOf(p),
    state: (WEBHOOK_STATES as readonly string[]).includes(state)
      ? (state as WebhookState)
      : 'pending',
    attempts: number('attempts'),
    dueKey: text('dueKey'),
    expiryKey: text('expiryKey'),
    pausedKey: text('pausedKey'),
    pausedAt: text('pausedAt'),
    leaseId: text('leaseId'),
    leaseUntil: text('leaseUntil'),
    availableAt: text('availableAt'),
    lastAttemptAt: text('lastAttemptAt'),
    lastError: text('lastError'),
    lastStatus: number('lastStatus'),
    deliveredAt: text('deliveredAt'),
    lastDeliveredAt: text('lastDeliveredAt'),
    deadAt: text('deadAt'),
    replays: number('replays'),
    replayedAt: text('replayedAt'),
    leaseSalt: text('leaseSalt'),
    leaseSeq: number('leaseSeq'),
    history: historyOf(p),
  };
}

function historyOf(p: EntityProperties): readonly AttemptRecord[] {
  if (typeof p['history'] !== 'string') return [];
  try {
    const value = JSON.parse(p['history']) as unknown;
    return Array.isArray(value) ? (value as AttemptRecord[]) : [];
  } catch {
    return [];
  }
}

/** The stored item `id` of an agent of a host, with its ETag, if it exists. */
export async function readItem(
  tables: TableStore,
  scope: AgentScope,
  id: string,
): Promise<(WebhookItem & { readonly etag: string }) | undefined> {
  const row = await tables.get('webhooks', scopeKey(scope), id);
  return row ? itemFromEntity(row) : undefined;
}

function headersOf(p: EntityProperties): Record<string, string> {
  try {
    return unpackJson(p, 'headers') as Record<string, string>;
  } catch {
    return {};
  }
}

function deliveryOf(p: EntityProperties): DeliveryAction {
  try {
    return JSON.parse(String(p['delivery'])) as DeliveryAction;
  } catch {
    return { action: 'agent' };
  }
}

/** What the list and detail routes show: everything but the body. */
export function publicItem(item: WebhookItem): WebhookView {
  return {
    id: item.id,
    hostId: item.hostId,
    agentId: item.agentId,
    endpointId: item.endpointId,
    provider: item.provider,
    eventType: item.eventType,
    dedupeKey: item.dedupeKey,
    receivedAt: item.receivedAt,
    contentType: item.contentType,
    bytes: item.bytes,
    state: item.state,
    attempts: item.attempts,
    availableAt: item.availableAt || undefined,
    leaseUntil: item.state === 'leased' ? item.leaseUntil : undefined,
    lastAttemptAt: item.lastAttemptAt || undefined,
    lastError: item.lastError || undefined,
    lastStatus: item.lastStatus || undefined,
    deliveredAt: item.deliveredAt || undefined,
    lastDeliveredAt: item.lastDeliveredAt || undefined,
    deadAt: item.deadAt || undefined,
    replays: item.replays,
    replayedAt: item.replayedAt || undefined,
    pausedAt: item.pausedAt || undefined,
    action: item.delivery.action,
  };
}

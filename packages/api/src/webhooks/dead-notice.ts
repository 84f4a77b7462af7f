import { createHash } from 'node:crypto';
import type { QueueFields, WebhookItem } from './webhook-item.ts';

/** Notices are Nexus's own items: this provider, never a sender's (no preset is called that). */
export const NOTICE_PROVIDER = 'nexus';
export const DEAD_NOTICE_EVENT = 'nexus.dead_webhook';
/** At most one notice per endpoint in this long. */
export const NOTICE_INTERVAL_MS = 3600_000;

export function isNotice(item: Pick<WebhookItem, 'provider'>): boolean {
  return item.provider === NOTICE_PROVIDER;
}

/** What a dead-item notice carries: who, what, why; never the dead item's body. */
export interface DeadNoticeBody {
  readonly type: typeof DEAD_NOTICE_EVENT;
  readonly agentId: string;
  readonly endpointId: string;
  readonly webhookId: string;
  readonly provider: string;
  readonly eventType: string;
  readonly lastError: string;
  readonly lastStatus: number;
  readonly deadAt: string;
}

/** The notice id of an endpoint for one hour: its create-only row is the "once per hour" record. */
export function noticeIdFor(endpointId: string, hour: number): string {
  const digest = createHash('sha256')
    .update(`${endpointId}\nnotice\n${String(hour)}`)
    .digest('hex');
  return `wh_${digest.slice(0, 32)}`;
}

/**
 * The notice to wake `item`'s agent with, unless one for its endpoint went out in the last hour
 * (`existing` reads an item of the same agent). Two items dying at once make the same notice id,
 * and the queue stores it once.
 */
export async function deadNoticeFor(
  item: WebhookItem,
  nowMs: number,
  existing: (id: string) => Promise<Pick<WebhookItem, 'receivedAt'> | undefined>,
): Promise<Omit<WebhookItem, keyof QueueFields> | undefined> {
  const hour = Math.floor(nowMs / NOTICE_INTERVAL_MS);
  const id = noticeIdFor(item.endpointId, hour);
  if (await existing(id)) return undefined;
  const previous = await existing(noticeIdFor(item.endpointId, hour - 1));
  if (previous && Date.parse(previous.receivedAt) > nowMs - NOTICE_INTERVAL_MS) return undefined;
  const body: DeadNoticeBody = {
    type: DEAD_NOTICE_EVENT,
    agentId: item.agentId,
    endpointId: item.endpointId,
    webhookId: item.id,
    provider: item.provider,
    eventType: item.eventType,
    lastError: item.lastError.slice(0, 300),
    lastStatus: item.lastStatus,
    deadAt: new Date(nowMs).toISOString(),
  };
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    hostId: item.hostId,
    agentId: item.agentId,
    id,
    endpointId: item.endpointId,
    provider: NOTICE_PROVIDER,
    eventType: DEAD_NOTICE_EVENT,
    dedupeKey: `notice:${String(hour)}`,
    receivedAt: new Date(nowMs).toISOString(),
    contentType: 'application/json',
    bytes: bytes.byteLength,
    headers: {},
    inlineBody: bytes.toString('base64'),
    delivery: { action: 'wake' },
  };
}

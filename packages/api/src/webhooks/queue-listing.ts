import { scopeKey, type AgentScope, type TableStore } from '@nexus/core';
import {
  idOfKey,
  itemFromEntity,
  partsOfPausedKey,
  readItem,
  type WebhookItem,
  type WebhookState,
} from './webhook-item.ts';

/** Rows looked at per call at most; the caller goes on with the cursor. */
const LIST_SCAN_ROWS = 1000;

/**
 * Items of one agent, optionally in one state. With a state, the index tables give time order
 * (pending and leased by when they are due, delivered and dead by when they expire); without one,
 * all items in id order. Paused items come by endpoint, then in the order they were paused. Scans at most 1,000 rows per call and returns a cursor to go on.
 */
export async function listItems(
  tables: TableStore,
  scope: AgentScope,
  options: { state?: WebhookState; limit: number; cursor?: string },
): Promise<{ items: WebhookItem[]; cursor?: string }> {
  const { state, limit } = options;
  const table =
    state === undefined
      ? 'webhooks'
      : state === 'pending' || state === 'leased'
        ? 'webhookQueue'
        : state === 'paused'
          ? 'webhookPaused'
          : 'webhookExpiry';
  const keyOf = (item: WebhookItem) =>
    table === 'webhookQueue'
      ? item.dueKey
      : table === 'webhookPaused'
        ? item.pausedKey
        : item.expiryKey;
  const items: WebhookItem[] = [];
  let storageCursor: string | undefined;
  let scanned = 0;
  for (;;) {
    const page = await tables.query(table, scopeKey(scope), {
      ...(options.cursor === undefined ? {} : { rowKeyFrom: options.cursor }),
      ...(storageCursor === undefined ? {} : { cursor: storageCursor }),
      limit: 200,
    });
    for (const row of page.items) {
      if (row.rowKey === options.cursor) continue; // the cursor is the last row already shown
      scanned += 1;
      const item =
        table === 'webhooks'
          ? itemFromEntity(row)
          : await readItem(
              tables,
              scope,
              table === 'webhookPaused' ? partsOfPausedKey(row.rowKey).id : idOfKey(row.rowKey),
            );
      // An index row is current only when its item points back at it.
      const current = item !== undefined && (table === 'webhooks' || keyOf(item) === row.rowKey);
      if (current && (state === undefined || item.state === state)) items.push(item);
      if (items.length >= limit || scanned >= LIST_SCAN_ROWS) return { items, cursor: row.rowKey };
    }
    if (page.cursor === undefined) return { items };
    storageCursor = page.cursor;
  }
}

import { PreconditionFailedError, scopeKey, type AgentScope, type Storage } from '@nexus/core';
import { DEAD_TABLE, deadRowKey } from './dead-index.ts';
import { blobKeyOf, idOfKey, readItem, timeKey } from './webhook-item.ts';

/**
 * Removes an agent's delivered, filtered and dead items whose retention has passed (their `webhookExpiry`
 * row is due): the item row, then its body, then the index row. Returns how many were removed.
 */
export async function sweepExpired(
  storage: Storage,
  scope: AgentScope,
  nowMs: number,
): Promise<number> {
  const { tables } = storage;
  let removed = 0;
  for (;;) {
    const page = await tables.query('webhookExpiry', scopeKey(scope), {
      rowKeyTo: timeKey(nowMs + 1, ''),
      limit: 200,
    });
    for (const row of page.items) {
      const item = await readItem(tables, scope, idOfKey(row.rowKey));
      const kept =
        item?.state === 'delivered' || item?.state === 'dead' || item?.state === 'filtered';
      if (item?.expiryKey === row.rowKey && kept) {
        // The row first: a crash after it leaves an orphaned blob, never a row without its body.
        try {
          await tables.delete('webhooks', scopeKey(scope), item.id, item.etag);
          removed += 1;
        } catch (error) {
          if (!(error instanceof PreconditionFailedError)) throw error;
          continue; // replayed meanwhile: its expiry row is stale now, and the replay removes it.
        }
        if (item.inlineBody === undefined) await storage.blobs.delete(blobKeyOf(scope, item.id));
        if (item.state === 'dead') await tables.delete(DEAD_TABLE, scope.hostId, deadRowKey(item));
      }
      await tables.delete('webhookExpiry', scopeKey(scope), row.rowKey);
    }
    if (page.items.length < 200) return removed;
  }
}

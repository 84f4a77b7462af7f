import type { TableStore } from '@nexus/core';
import { readItem } from './webhook-item.ts';

/**
 * `webhookDead` (PK host id, RK `<agent>~<item id>`): the dead items of a host, so its status can
 * say how many there are with one query instead of reading every kept item. Written before the
 * item turns dead and removed after it leaves that state (replay, retention): a crash leaves at
 * worst a row whose item is not dead, which `countDead` recognises and removes.
 */
export const DEAD_TABLE = 'webhookDead';

export function deadRowKey(item: { readonly agentId: string; readonly id: string }): string {
  return `${item.agentId}~${item.id}`;
}

/** Counted exactly up to this many; beyond, "at least". */
export const DEAD_COUNT_LIMIT = 200;
/** A row whose item is not dead yet may be one being written: left alone this long. */
const STALE_GRACE_MS = 5 * 60_000;

export interface DeadCount {
  readonly count: number;
  /** More than `count` may be dead (counting stopped at `DEAD_COUNT_LIMIT`). */
  readonly capped: boolean;
  readonly lastDeadAt: string | null;
  /** The count per agent of the host (agents without dead items left out). */
  readonly byAgent: Readonly<Record<string, number>>;
}

export const NO_DEAD: DeadCount = { count: 0, capped: false, lastDeadAt: null, byAgent: {} };

export async function countDead(
  tables: TableStore,
  hostId: string,
  nowMs: number,
): Promise<DeadCount> {
  const page = await tables.query(DEAD_TABLE, hostId, { limit: DEAD_COUNT_LIMIT + 1 });
  let count = 0;
  let lastDeadAt: string | null = null;
  const byAgent: Record<string, number> = {};
  const rows = page.items.slice(0, DEAD_COUNT_LIMIT);
  const states = await Promise.all(
    rows.map(async (row) => {
      const at = row.rowKey.indexOf('~');
      const agentId = row.rowKey.slice(0, at);
      const item = await readItem(tables, { hostId, agentId }, row.rowKey.slice(at + 1));
      return { row, agentId, dead: item?.state === 'dead' };
    }),
  );
  for (const { row, agentId, dead } of states) {
    const deadAt = typeof row.properties['deadAt'] === 'string' ? row.properties['deadAt'] : '';
    if (dead) {
      count += 1;
      byAgent[agentId] = (byAgent[agentId] ?? 0) + 1;
      if (lastDeadAt === null || deadAt > lastDeadAt) lastDeadAt = deadAt;
    } else if (Date.parse(deadAt) < nowMs - STALE_GRACE_MS) {
      await tables.delete(DEAD_TABLE, hostId, row.rowKey);
    }
  }
  return { count, capped: page.items.length > DEAD_COUNT_LIMIT, lastDeadAt, byAgent };
}

import { randomBytes } from 'node:crypto';
import type { TableStore } from '@nexus/core';
import {
  queuedGenerationOf,
  type PendingGeneration,
  type QueuedGeneration,
  type RebuildProgress,
  type SearchQueue,
} from './search-index.ts';

export const SEARCH_QUEUE_TABLE = 'searchQueue';
const PARTITION = 'search';
const STATE_TABLE = 'nexus';
const STATE_ROW = 'searchRebuild';

/**
 * The generations waiting for Azure AI Search, in Table Storage: written by whichever instance
 * recorded the upload, read by the one that indexes (on Azure Functions, the timer function).
 * Row keys begin with the time queued, so a partition read is oldest first.
 */
export class TableSearchQueue implements SearchQueue {
  readonly shared = true;
  private readonly tables: TableStore;

  constructor(tables: TableStore) {
    this.tables = tables;
  }

  async enqueue(item: PendingGeneration): Promise<void> {
    const queuedAtMs = Date.now();
    await this.tables.insert(SEARCH_QUEUE_TABLE, {
      partitionKey: PARTITION,
      rowKey: `${String(queuedAtMs).padStart(13, '0')}_${randomBytes(6).toString('hex')}`,
      properties: {
        hostId: item.hostId,
        agentId: item.agentId,
        sessionId: item.sessionId,
        sha256: item.sha256,
        fromByte: item.fromByte,
        fromLine: item.fromLine,
        queuedAtMs,
      },
    });
  }

  async oldest(limit: number): Promise<QueuedGeneration[]> {
    const page = await this.tables.query(SEARCH_QUEUE_TABLE, PARTITION, { limit });
    return page.items
      .slice(0, limit)
      .map(({ rowKey, properties }) => queuedGenerationOf(rowKey, properties));
  }

  async remove(id: string): Promise<void> {
    await this.tables.delete(SEARCH_QUEUE_TABLE, PARTITION, id);
  }

  async count(cap: number): Promise<number> {
    let counted = 0;
    let cursor: string | undefined;
    do {
      const page = await this.tables.query(SEARCH_QUEUE_TABLE, PARTITION, {
        limit: Math.min(1000, cap - counted),
        ...(cursor === undefined ? {} : { cursor }),
      });
      counted += page.items.length;
      cursor = page.cursor;
    } while (cursor !== undefined && counted < cap);
    return Math.min(counted, cap);
  }

  async rebuildState(): Promise<RebuildProgress | undefined> {
    const row = await this.tables.get(STATE_TABLE, STATE_TABLE, STATE_ROW);
    const value = row?.properties['progress'];
    return typeof value === 'string' ? (JSON.parse(value) as RebuildProgress) : undefined;
  }

  async setRebuildState(progress: RebuildProgress): Promise<void> {
    await this.tables.upsert(STATE_TABLE, {
      partitionKey: STATE_TABLE,
      rowKey: STATE_ROW,
      properties: { progress: JSON.stringify(progress) },
    });
  }
}

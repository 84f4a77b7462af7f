import { join } from 'node:path';
import { scopeKey, type SessionRecord, type TableWrite } from '@nexus/core';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { ACTIVITY_ROW, AGENTS_PARTITION, activityRowKey } from '../transcripts/keys.ts';
import { sessionEntity } from '../transcripts/rows.ts';

/**
 * Writes session rows straight into a Node server's embedded store (`<dataDir>/data`), in the
 * API's own row format (session, time index, agent, agent activity), without their transcripts:
 * how a benchmark gets 100,000 sessions in seconds instead of uploading them. Only lists and
 * usage read such rows; their transcripts do not exist.
 */
export async function storeSessionRows(
  dataDir: string,
  records: Iterable<SessionRecord>,
): Promise<number> {
  const storage = await openEmbeddedStorage(join(dataDir, 'data'));
  const batches = new Map<string, TableWrite[]>();
  const lastOf = new Map<string, string>();
  let count = 0;
  try {
    for (const record of records) {
      const partition = scopeKey(record);
      const indexKey = activityRowKey(record.activityAt, record.sessionId);
      const batch = batches.get(partition) ?? [];
      batch.push(
        { op: 'upsert', table: 'sessions', entity: sessionEntity(record, indexKey) },
        {
          op: 'upsert',
          table: 'sessionsByTime',
          entity: {
            partitionKey: partition,
            rowKey: indexKey,
            properties: { sessionId: record.sessionId },
          },
        },
      );
      if ((lastOf.get(partition) ?? '') < record.lastReceivedAt)
        lastOf.set(partition, record.lastReceivedAt);
      count += 1;
      if (batch.length >= 100) {
        await storage.tables.transact(batch);
        batches.set(partition, []);
      } else batches.set(partition, batch);
    }
    for (const batch of batches.values())
      if (batch.length > 0) await storage.tables.transact(batch);
    for (const [partition, last] of lastOf) {
      await storage.tables.upsert('agents', {
        partitionKey: AGENTS_PARTITION,
        rowKey: partition,
        properties: { firstReceivedAt: last },
      });
      await storage.tables.upsert('agentActivity', {
        partitionKey: partition,
        rowKey: ACTIVITY_ROW,
        properties: { lastReceivedAt: last },
      });
    }
    return count;
  } finally {
    await storage.close();
  }
}

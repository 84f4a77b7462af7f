import {
  AlreadyExistsError,
  PreconditionFailedError,
  UnavailableError,
  summarizeSession,
  type Generation,
  type SessionRecord,
  type Storage,
  type UsageRecord,
} from '@nexus/core';
import { activityRowKey, generationRange, ledgerBlobKey } from './keys.ts';
import { generationFromEntity, sessionEntity } from './rows.ts';

const MAX_ATTEMPTS = 8;

/**
 * Recomputes a session's row from all of its generation rows and usage ledgers. The session row
 * is derived state: this is idempotent, heals a crash between writing a generation and its
 * session, and is safe under concurrency because the write is conditional on the ETag read
 * before listing the generations (a writer that listed too early loses and tries again).
 *
 * The time index row is written before the session row and the old one removed after; readers
 * trust an index row only when the session row points at it, so a crash in between leaves a
 * harmless stray.
 */
export async function refreshSession(
  storage: Storage,
  agentId: string,
  sessionId: string,
): Promise<SessionRecord> {
  const { tables } = storage;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const current = await tables.get('sessions', agentId, sessionId);
    const generations = await listGenerations(storage, agentId, sessionId);
    const ledgers = await Promise.all(generations.map((g) => readLedger(storage, g)));
    const record = summarizeSession(generations, ledgers);
    const indexKey = activityRowKey(record.activityAt, sessionId);
    await tables.upsert('sessionsByTime', {
      partitionKey: agentId,
      rowKey: indexKey,
      properties: { sessionId },
    });
    const entity = sessionEntity(record, indexKey);
    try {
      if (current) await tables.update('sessions', entity, current.etag);
      else await tables.insert('sessions', entity);
    } catch (error) {
      if (error instanceof PreconditionFailedError || error instanceof AlreadyExistsError) continue;
      throw error;
    }
    const previousKey = current?.properties['indexKey'];
    if (typeof previousKey === 'string' && previousKey !== indexKey) {
      await tables.delete('sessionsByTime', agentId, previousKey);
    }
    return record;
  }
  throw new UnavailableError(
    `Session ${agentId}/${sessionId} is being updated by many uploads at once; retry.`,
    {
      retryAfterSeconds: 1,
    },
  );
}

export async function listGenerations(
  storage: Storage,
  agentId: string,
  sessionId: string,
): Promise<Generation[]> {
  const generations: Generation[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.tables.query('generations', agentId, {
      ...generationRange(sessionId),
      ...(cursor === undefined ? {} : { cursor }),
    });
    generations.push(...page.items.map(generationFromEntity));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return generations;
}

/** Ledger rows are written compactly: one array per assistant entry. */
type LedgerRow = [string, string, string, string, number, number, number, number, number, number];

export function encodeLedger(usage: readonly UsageRecord[]): string {
  const rows: LedgerRow[] = usage.map((u) => [
    u.entryId,
    u.day,
    u.provider,
    u.model,
    u.input,
    u.output,
    u.cacheRead,
    u.cacheWrite,
    u.totalTokens,
    u.costUsd,
  ]);
  return JSON.stringify(rows);
}

async function readLedger(storage: Storage, generation: Generation): Promise<UsageRecord[]> {
  const { body } = await storage.blobs.get(
    ledgerBlobKey(generation.agentId, generation.sessionId, generation.sha256),
  );
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  const rows = JSON.parse(Buffer.concat(parts).toString('utf8')) as LedgerRow[];
  return rows.map(
    ([
      entryId,
      day,
      provider,
      model,
      input,
      output,
      cacheRead,
      cacheWrite,
      totalTokens,
      costUsd,
    ]) => ({
      entryId,
      day,
      provider,
      model,
      input,
      output,
      cacheRead,
      cacheWrite,
      totalTokens,
      costUsd,
    }),
  );
}

import {
  AlreadyExistsError,
  PreconditionFailedError,
  UnavailableError,
  summarizeSession,
  UsageCombiner,
  type Generation,
  type SessionRecord,
  type Storage,
  type UsageBucket,
} from '@nexus/core';
import { activityRowKey, generationRange, ledgerBlobKey } from './keys.ts';
import { generationEntity, generationFromEntity, inlineLedgerOf, sessionEntity } from './rows.ts';
import { readLedger } from './usage-ledger.ts';

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
  /** Usage the caller already has for one generation (just ingested): saves reading its ledger back. */
  known?: { readonly sha256: string; readonly usage: readonly UsageBucket[] },
): Promise<SessionRecord> {
  const { tables } = storage;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const current = await tables.get('sessions', agentId, sessionId);
    const rows = await listGenerationRows(storage, agentId, sessionId);
    const generations = rows.map((row) => row.generation);
    const record = summarizeSession(generations, await combinedUsage(storage, rows, known));
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

/**
 * The first generation of a session that has none yet: the generation row, the time index row and
 * the session row (summarised from this generation alone) in one transaction: one request on
 * Azure, one commit on the embedded store, and no listing or read-back. `undefined`, with nothing
 * written, when the session row or this generation's row exists: the caller takes the general path.
 */
export async function insertFirstGeneration(
  storage: Storage,
  generation: Generation,
  inlineLedger: string | undefined,
  usage: readonly UsageBucket[],
): Promise<SessionRecord | undefined> {
  const { agentId, sessionId } = generation;
  const record = summarizeSession([generation], usage);
  const indexKey = activityRowKey(record.activityAt, sessionId);
  const written = await storage.tables.transact([
    { op: 'insert', table: 'generations', entity: generationEntity(generation, inlineLedger) },
    {
      op: 'insert',
      table: 'sessionsByTime',
      entity: { partitionKey: agentId, rowKey: indexKey, properties: { sessionId } },
    },
    { op: 'insert', table: 'sessions', entity: sessionEntity(record, indexKey) },
  ]);
  return written ? record : undefined;
}

export async function listGenerations(
  storage: Storage,
  agentId: string,
  sessionId: string,
): Promise<Generation[]> {
  return (await listGenerationRows(storage, agentId, sessionId)).map((row) => row.generation);
}

interface GenerationRow {
  readonly generation: Generation;
  readonly inlineLedger: string | undefined;
}

async function listGenerationRows(
  storage: Storage,
  agentId: string,
  sessionId: string,
): Promise<GenerationRow[]> {
  const rows: GenerationRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.tables.query('generations', agentId, {
      ...generationRange(sessionId),
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const entity of page.items)
      rows.push({ generation: generationFromEntity(entity), inlineLedger: inlineLedgerOf(entity) });
    cursor = page.cursor;
  } while (cursor !== undefined);
  return rows;
}

/**
 * The session's usage per day and model, streamed from each generation's ledger. Only when
 * there are several generations does it remember entry ids (to count overlaps once).
 */
async function combinedUsage(
  storage: Storage,
  rows: readonly GenerationRow[],
  known: { readonly sha256: string; readonly usage: readonly UsageBucket[] } | undefined,
): Promise<UsageBucket[]> {
  // A session's only generation needs no de-duplication: its own buckets are the answer.
  const [only] = rows;
  if (rows.length === 1 && only?.generation.sha256 === known?.sha256 && known)
    return [...known.usage];
  const combiner = new UsageCombiner({ dedupe: rows.length > 1 });
  for (const { generation: g, inlineLedger } of rows) {
    const body =
      inlineLedger === undefined
        ? (await storage.blobs.get(ledgerBlobKey(g.agentId, g.sessionId, g.sha256))).body
        : [Buffer.from(inlineLedger)];
    for await (const record of readLedger(body)) combiner.add(record);
  }
  return combiner.result();
}

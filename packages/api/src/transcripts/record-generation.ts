import {
  UnavailableError,
  scopeKey,
  sumBuckets,
  summarizeSession,
  UsageCombiner,
  type AgentScope,
  type Generation,
  type SessionRecord,
  type Storage,
  type TableWrite,
  type UsageBucket,
} from '@nexus/core';
import { loadGenerationRows } from './generation-content.ts';
import { ACTIVITY_ROW, activityRowKey, ledgerBlobKey } from './keys.ts';
import {
  generationEntity,
  sessionEntity,
  sessionFromEntity,
  type GenerationRow,
  type GenerationStorage,
} from './rows.ts';
import { readLedger } from './usage-ledger.ts';

const MAX_ATTEMPTS = 8;

/** A generation to record along with the session (an upload), with its usage and small ledger. */
export interface NewGeneration {
  readonly generation: Generation;
  readonly inlineLedger: string | undefined;
  readonly usage: readonly UsageBucket[];
  readonly storage: GenerationStorage;
}

/**
 * Records a generation (when it is not stored yet) and recomputes its session's row from all of
 * the session's generation rows and usage ledgers, in one transaction: a generation row is never
 * written without its session row, so no crash leaves a generation its session does not count.
 * The session row is derived state: this is idempotent, and safe under concurrency because the
 * transaction is conditional on the session row's ETag read before listing the generations (a
 * writer that listed too early writes nothing and tries again).
 *
 * The time index row is written with the session row; the old one is removed after. Readers
 * trust an index row only when the session row points at it, so a crash before the removal
 * leaves a harmless stray.
 */
export async function recordGeneration(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  added: NewGeneration,
): Promise<{ created: boolean; stored: Generation; session: SessionRecord }> {
  const { tables } = storage;
  const { sha256 } = added.generation;
  const partition = scopeKey(scope);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const current = await tables.get('sessions', partition, sessionId);
    const stored = await loadGenerationRows(storage, scope, sessionId);
    const existing = stored.get(sha256);
    // Content stored before, now also archived (a delete archive equal to the last snapshot):
    // nothing new to keep but the fact, which the session's state shows.
    const archived = existing && noteArchive(existing.generation, added.generation);
    const rows: LedgerSource[] = [...stored.values()].map((row) =>
      archived && row === existing ? { ...row, generation: archived } : row,
    );
    if (existing === undefined) rows.push(added);
    const usage =
      existing === undefined && current !== undefined && extendsAll(added.generation, stored)
        ? sumBuckets([...sessionFromEntity(current).usage, ...added.usage])
        : await combinedUsage(storage, rows, { sha256, usage: added.usage });
    const record = summarizeSession(
      rows.map((row) => row.generation),
      usage,
    );
    const indexKey = activityRowKey(record.activityAt, sessionId);
    const entity = sessionEntity(record, indexKey);
    const written = await tables.transact([
      ...(existing === undefined
        ? [
            {
              op: 'insert' as const,
              table: 'generations',
              entity: generationEntity(added.generation, added.inlineLedger, added.storage),
            },
          ]
        : archived
          ? [
              {
                op: 'update' as const,
                table: 'generations',
                entity: generationEntity(archived, existing.inlineLedger, existing),
                etag: existing.etag,
              },
            ]
          : []),
      {
        op: 'upsert',
        table: 'sessionsByTime',
        entity: { partitionKey: partition, rowKey: indexKey, properties: { sessionId } },
      },
      current
        ? { op: 'update', table: 'sessions', entity, etag: current.etag }
        : { op: 'insert', table: 'sessions', entity },
      activityWrite(added.generation),
    ]);
    if (!written) continue;
    const previousKey = current?.properties['indexKey'];
    if (typeof previousKey === 'string' && previousKey !== indexKey) {
      await tables.delete('sessionsByTime', partition, previousKey);
    }
    return {
      created: existing === undefined,
      stored: archived ?? existing?.generation ?? added.generation,
      session: record,
    };
  }
  throw new UnavailableError(
    `Session ${partition}/${sessionId} is being updated by many uploads at once; retry.`,
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
  added: NewGeneration,
): Promise<SessionRecord | undefined> {
  const { generation, inlineLedger, usage } = added;
  const { sessionId } = generation;
  const record = summarizeSession([generation], usage);
  const indexKey = activityRowKey(record.activityAt, sessionId);
  const written = await storage.tables.transact([
    {
      op: 'insert',
      table: 'generations',
      entity: generationEntity(generation, inlineLedger, added.storage),
    },
    {
      op: 'insert',
      table: 'sessionsByTime',
      entity: { partitionKey: scopeKey(generation), rowKey: indexKey, properties: { sessionId } },
    },
    { op: 'insert', table: 'sessions', entity: sessionEntity(record, indexKey) },
    activityWrite(generation),
  ]);
  return written ? record : undefined;
}

/**
 * The agent's last upload time, in its own partition so that it rides in the upload's
 * transaction: no request of its own. (`GET /v1/agents` lists agents from the `agents` rows.)
 */
function activityWrite(generation: Generation): TableWrite {
  return {
    op: 'upsert',
    table: 'agentActivity',
    entity: {
      partitionKey: scopeKey(generation),
      rowKey: ACTIVITY_ROW,
      properties: { lastReceivedAt: generation.receivedAt },
    },
  };
}

/**
 * The stored generation, noting that the same content arrived again as an archive (a `reset` or
 * `deleted` file), with the archive's context; `undefined` when there is nothing new to note. A
 * delete archive replaces a noted reset archive: deleted is what the session's state must say.
 */
function noteArchive(stored: Generation, added: Generation): Generation | undefined {
  const archive = added.kind === 'reset' || added.kind === 'deleted';
  const noted = stored.archivedAs?.kind;
  const news = noted === undefined || (noted === 'reset' && added.kind === 'deleted');
  if (!archive || stored.kind === added.kind || !news) return undefined;
  return {
    ...stored,
    archivedAs: { kind: added.kind, fileName: added.fileName, receivedAt: added.receivedAt },
    context: { ...stored.context, ...added.context },
  };
}

/** A generation whose usage ledger can be read: a stored row, or the one being added. */
type LedgerSource = Pick<GenerationRow, 'generation' | 'inlineLedger'>;

/**
 * Does the new generation extend every stored generation of its session (each is its base, or
 * its base's base, ...)? Then the stored ones hold none of its new messages, and the session's
 * usage is the stored usage plus the increment's: no ledger is read again, so an increment's cost
 * does not grow with the session (bench B8). Anything else (a rewritten file, an archive beside
 * a snapshot) takes the general path, which reads every ledger and counts each message once.
 */
function extendsAll(generation: Generation, stored: ReadonlyMap<string, GenerationRow>): boolean {
  let left = stored.size;
  let sha = generation.extends;
  const seen = new Set<string>();
  while (sha !== undefined && !seen.has(sha)) {
    const row = stored.get(sha);
    if (row === undefined) return false;
    seen.add(sha);
    left -= 1;
    sha = row.generation.extends;
  }
  return left === 0;
}

/**
 * The session's usage per day and model, streamed from each generation's ledger. Only when
 * there are several generations does it remember entry ids (to count overlaps once).
 */
async function combinedUsage(
  storage: Storage,
  rows: readonly LedgerSource[],
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
        ? (await storage.blobs.get(ledgerBlobKey(g, g.sessionId, g.sha256))).body
        : [Buffer.from(inlineLedger)];
    for await (const record of readLedger(body)) combiner.add(record);
  }
  return combiner.result();
}

import { NotFoundError, scopeKey, type AgentScope, type Storage } from '@nexus/core';
import { loadGenerationRows } from './generation-content.ts';
import { generationRowKey } from './keys.ts';

export interface DeletedSession {
  readonly generations: number;
  readonly blobs: number;
  readonly bytes: number;
}

/**
 * Deletes everything stored of one session: its transcripts, increments and usage ledgers
 * (every blob under the session's three folders, so a piece a crash orphaned goes too), its
 * generation rows, then its time-index and session rows. In that order, so a deletion cut short
 * leaves a session still listed that the same call finishes: while the session row stands, an
 * upload takes the general path that reads the generations there are. NotFoundError when nothing
 * of it is stored.
 */
export async function deleteSession(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
): Promise<DeletedSession> {
  const rows = await loadGenerationRows(storage, scope, sessionId);
  const partition = scopeKey(scope);
  const sessionRow = await storage.tables.get('sessions', partition, sessionId);
  let blobs = 0;
  let bytes = 0;
  for (const folder of ['transcripts', 'deltas', 'ledgers'])
    for await (const blob of storage.blobs.list(`${folder}/${partition}/${sessionId}/`)) {
      await storage.blobs.delete(blob.key);
      blobs += 1;
      bytes += blob.size;
    }
  if (rows.size === 0 && sessionRow === undefined && blobs === 0)
    throw new NotFoundError(
      `No session ${sessionId} is stored for agent ${scope.agentId} of host ${scope.hostId}.`,
      'session_not_found',
    );
  for (const sha256 of rows.keys())
    await storage.tables.delete('generations', partition, generationRowKey(sessionId, sha256));
  const indexKey = sessionRow?.properties['indexKey'];
  if (typeof indexKey === 'string')
    await storage.tables.delete('sessionsByTime', partition, indexKey);
  await storage.tables.delete('sessions', partition, sessionId);
  return { generations: rows.size, blobs, bytes };
}

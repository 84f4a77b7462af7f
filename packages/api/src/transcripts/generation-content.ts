import {
  NotFoundError,
  queryAll,
  scopeKey,
  type AgentScope,
  type ByteSource,
  type Storage,
} from '@nexus/core';
import { segmentsOf, type Segment } from './generation-layout.ts';
import { deltaBlobKey, generationRange, transcriptBlobKey } from './keys.ts';
import { generationRowFromEntity, type GenerationRow } from './rows.ts';

/** Every generation row of a session, by SHA-256: one query over the session's key range. */
export async function loadGenerationRows(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
): Promise<Map<string, GenerationRow>> {
  const rows = new Map<string, GenerationRow>();
  for await (const entity of queryAll(
    storage.tables,
    'generations',
    scopeKey(scope),
    generationRange(sessionId),
  )) {
    const row = generationRowFromEntity(entity);
    rows.set(row.sha256, row);
  }
  return rows;
}

export function segmentKey(scope: AgentScope, sessionId: string, segment: Segment): string {
  return (segment.blob === 'whole' ? transcriptBlobKey : deltaBlobKey)(
    scope,
    sessionId,
    segment.sha256,
  );
}

/**
 * A generation's exact bytes, streamed blob after blob (one chunk in memory). A consolidation may
 * remove a blob between the rows being read and the blob being opened: then the rows are read
 * again once and the stream goes on where it was, from the new layout.
 * From byte `from` on when given (a page of the dashboard that knows where it starts).
 */
export async function* readGeneration(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  sha256: string,
  rows: ReadonlyMap<string, GenerationRow>,
  from = 0,
): ByteSource {
  let sent = from;
  let segments = segmentsOf(sha256, rows);
  for (let attempt = 1; ; attempt += 1) {
    try {
      for await (const chunk of readSegments(storage, scope, sessionId, segments, sent)) {
        sent += chunk.byteLength;
        yield chunk;
      }
      return;
    } catch (error) {
      if (!(error instanceof NotFoundError) || attempt > 1) throw error;
      segments = segmentsOf(sha256, await loadGenerationRows(storage, scope, sessionId));
    }
  }
}

/** The segments' bytes from byte `from` on. */
async function* readSegments(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  segments: readonly Segment[],
  from: number,
): ByteSource {
  let skip = from;
  for (const segment of segments) {
    if (skip >= segment.length) {
      skip -= segment.length;
      continue;
    }
    const key = segmentKey(scope, sessionId, segment);
    // The bytes before `from` are not read at all: a ranged read starts at them.
    const { body } = await storage.blobs.get(key, skip > 0 ? { start: skip } : {});
    let left = segment.length - skip;
    skip = 0;
    for await (const chunk of body) {
      const part = chunk.byteLength > left ? chunk.subarray(0, left) : chunk;
      left -= part.byteLength;
      if (part.byteLength > 0) yield part;
      if (left === 0) break;
    }
    if (left > 0)
      throw new Error(`the blob ${key} is ${left} bytes shorter than its rows say; run nexus fsck`);
  }
}

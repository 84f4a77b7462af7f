import { createHash } from 'node:crypto';
import type { AgentScope, ByteSource, Storage, TableWrite } from '@nexus/core';
import { loadGenerationRows, readGeneration, segmentKey } from './generation-content.ts';
import {
  MAX_SEGMENTS,
  consolidation,
  segmentsOf,
  type GenerationLayout,
} from './generation-layout.ts';
import { transcriptBlobKey } from './keys.ts';
import { relaidEntity, type GenerationRow } from './rows.ts';

/**
 * Folds an increment's chain into one whole blob once reading it would take more than
 * `MAX_SEGMENTS` blobs. Storage stays about the session's size (the folded blobs go), and a
 * session's increments cost one copy of it every `MAX_SEGMENTS` increments.
 */
export async function consolidateIfDue(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  sha256: string,
  segments: number | undefined,
): Promise<boolean> {
  // Its row says how many blobs it takes (unless it follows a row from before that was kept).
  if (segments !== undefined && segments <= MAX_SEGMENTS) return false;
  const rows = await loadGenerationRows(storage, scope, sessionId);
  const row = rows.get(sha256);
  if (row?.layout.kind !== 'delta') return false;
  if (segmentsOf(sha256, rows).length <= MAX_SEGMENTS) return false;
  return consolidate(storage, scope, sessionId, row, rows);
}

/**
 * Crash-safe in three steps: the whole blob is written (create-only, its bytes checked against
 * the generation's hash as they go); the rows are relaid in one transaction, conditional on their
 * ETags (the generation whole, those it folded within it); only then are the folded blobs
 * deleted. A crash leaves either an unused whole blob or unused folded blobs, which the next
 * consolidation reuses or `nexus fsck --repair` removes. `false` when the rows changed meanwhile
 * (another upload consolidated them): nothing is deleted then.
 */
export async function consolidate(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  row: GenerationRow,
  rows: ReadonlyMap<string, GenerationRow>,
): Promise<boolean> {
  const { sha256 } = row;
  const { folded } = consolidation(sha256, rows);
  await storage.blobs.putIfAbsent(
    transcriptBlobKey(scope, sessionId, sha256),
    checked(readGeneration(storage, scope, sessionId, sha256, rows), sha256),
    { contentType: 'application/x-ndjson' },
  );
  const relaid = new Map<string, GenerationLayout>([[sha256, { kind: 'whole' }]]);
  for (const segment of folded)
    if (segment.sha256 !== sha256) relaid.set(segment.sha256, { kind: 'within', of: sha256 });
  const writes: TableWrite[] = [];
  for (const [sha, layout] of relaid) {
    const owner = rows.get(sha);
    if (owner === undefined) continue;
    writes.push({
      op: 'update',
      table: 'generations',
      entity: relaidEntity(owner, layout),
      etag: owner.etag,
    });
  }
  if (!(await storage.tables.transact(writes))) return false;
  for (const segment of folded) await storage.blobs.delete(segmentKey(scope, sessionId, segment));
  return true;
}

/** The bytes as they pass, failing before their end unless they hash to `sha256`. */
async function* checked(source: ByteSource, sha256: string): ByteSource {
  const hash = createHash('sha256');
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== sha256)
    throw new Error(
      `the stored bytes of generation ${sha256} hash to ${actual}; not consolidated, run nexus fsck`,
    );
}

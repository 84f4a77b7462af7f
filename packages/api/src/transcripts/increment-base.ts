import {
  ConflictError,
  scopeKey,
  validateSha256,
  type AgentScope,
  type Storage,
  type TranscriptSummary,
} from '@nexus/core';
import { loadGenerationRows, readGeneration } from './generation-content.ts';
import { ResumableSha256 } from './resumable-sha256.ts';
import { generationRowKey } from './keys.ts';
import { generationRowFromEntity, type GenerationRow } from './rows.ts';

/** What an increment resumes from: its base generation, summarised and hashed to its end. */
export interface IncrementBase {
  readonly row: GenerationRow;
  readonly resume: { readonly summary: TranscriptSummary; readonly hashState: string };
}

/**
 * The stored generation an upload extends. Its hash state is in its row when it was itself an
 * increment; a generation stored whole is read once and hashed here (its state then rides in every
 * increment's row that follows). 409 when there is no such generation or it ends inside a line:
 * the client then sends the whole transcript.
 */
export async function incrementBase(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  baseInput: string,
): Promise<IncrementBase> {
  const base = validateSha256(baseInput);
  // One point read: an increment's cost must not grow with the session's number of generations.
  const entity = await storage.tables.get(
    'generations',
    scopeKey(scope),
    generationRowKey(sessionId, base),
  );
  const row = entity && generationRowFromEntity(entity);
  if (row === undefined) {
    throw new ConflictError(
      'base_not_found',
      `Session ${sessionId} has no stored generation ${base} to extend; send the whole transcript (without base).`,
    );
  }
  let { hashState, lineEnd } = row;
  if (hashState === undefined || lineEnd === undefined) {
    const rows = await loadGenerationRows(storage, scope, sessionId);
    ({ hashState, lineEnd } = await hashStored(storage, scope, sessionId, row, rows));
  }
  if (!lineEnd) {
    throw new ConflictError(
      'base_not_line_end',
      `Generation ${base} ends inside a line, so new lines cannot follow it; send the whole transcript (without base).`,
    );
  }
  return { row, resume: { summary: row.generation.summary, hashState } };
}

/** A stored generation's hash state and last byte, from its bytes; checked against its hash. */
async function hashStored(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  row: GenerationRow,
  rows: ReadonlyMap<string, GenerationRow>,
): Promise<{ hashState: string; lineEnd: boolean }> {
  const hash = new ResumableSha256();
  let last = -1;
  for await (const chunk of readGeneration(storage, scope, sessionId, row.sha256, rows)) {
    hash.update(chunk);
    if (chunk.byteLength > 0) last = chunk[chunk.byteLength - 1] ?? last;
  }
  if (hash.hex() !== row.sha256) {
    throw new Error(
      `the stored bytes of generation ${row.sha256} of session ${sessionId} do not match its hash; run nexus fsck`,
    );
  }
  return { hashState: hash.save(), lineEnd: last === 0x0a };
}

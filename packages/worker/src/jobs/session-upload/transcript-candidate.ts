import type { Decision } from '../../openclaw/completion.ts';
import type { AgentDatabase } from '../../openclaw/agent-database.ts';
import type { LedgerEntry } from './upload-ledger.ts';

/**
 * One transcript that session_upload considered, from either source: a file of the sessions
 * folder (eras A, B, and C's delete archives) or a session in the agent database (era C). The
 * upload path is the same for both; only reading the bytes and archiving differ.
 */
export interface TranscriptCandidate {
  readonly agentId: string;
  readonly kind: 'live' | 'reset' | 'deleted' | 'bak';
  /** The header's session id (files: else the id in the name). */
  readonly sessionId: string;
  /** Sent as `fileName`; shown in logs. */
  readonly fileName: string;
  /** The ledger's key: a file path, or `sqlite:<database>#<session>`. */
  readonly ledgerKey: string;
  /** Change marker kept in the ledger: size and mtime of a file; event count and last seq of a database session. */
  readonly version: { readonly size: number; readonly mtimeMs: number };
  readonly decision:
    Decision | { readonly upload: false; readonly reason: string; readonly ledger: LedgerEntry };
  readonly source:
    | { readonly type: 'file'; readonly path: string; readonly compressed: boolean }
    | { readonly type: 'database'; readonly database: AgentDatabase };
  /** Session context only the database knows (session key, channel, model, status, ...). */
  readonly context: Readonly<Record<string, string>>;
}

/** The ledger's verdict when a candidate has not changed since it was last handled. */
export function unchangedSince(
  known: LedgerEntry | undefined,
  version: TranscriptCandidate['version'],
): LedgerEntry | undefined {
  return known && known.size === version.size && known.mtimeMs === version.mtimeMs
    ? known
    : undefined;
}

export function ledgerReason(known: LedgerEntry): string {
  return known.status === 'uploaded'
    ? 'uploaded before, unchanged'
    : `rejected before, unchanged: ${known.detail}`;
}

import type { Decision } from '../../openclaw/completion.ts';
import type { AgentDatabase } from '../../openclaw/agent-database.ts';
import type { ChangeMarker, LedgerEntry } from './upload-ledger.ts';

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
  readonly marker: ChangeMarker;
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
  marker: ChangeMarker,
): LedgerEntry | undefined {
  return known && sameMarker(known.marker, marker) ? known : undefined;
}

function sameMarker(a: ChangeMarker, b: ChangeMarker): boolean {
  if (a.kind === 'file' && b.kind === 'file') return a.size === b.size && a.mtimeMs === b.mtimeMs;
  if (a.kind === 'database' && b.kind === 'database')
    return a.eventCount === b.eventCount && a.lastSeq === b.lastSeq;
  return false;
}

/** Oldest first: files by their mtime; database sessions, which have none, before them. */
export function uploadOrder(a: TranscriptCandidate, b: TranscriptCandidate): number {
  const at = (marker: ChangeMarker) => (marker.kind === 'file' ? marker.mtimeMs : 0);
  return at(a.marker) - at(b.marker);
}

export function ledgerReason(known: LedgerEntry): string {
  return known.status === 'uploaded'
    ? 'uploaded before, unchanged'
    : `rejected before, unchanged: ${known.detail}`;
}

/** The decision on a candidate the ledger already handled and that has not changed since. */
export function unchangedDecision(known: LedgerEntry): TranscriptCandidate['decision'] {
  return { upload: false, reason: ledgerReason(known), ledger: known };
}

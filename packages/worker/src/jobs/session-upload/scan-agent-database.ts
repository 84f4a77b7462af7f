import { decideDatabaseSession, type CompletionPolicy } from '../../openclaw/completion.ts';
import { AgentDatabase } from '../../openclaw/agent-database.ts';
import type { LedgerLookup } from './upload-ledger.ts';
import {
  unchangedDecision,
  unchangedSince,
  type TranscriptCandidate,
} from './transcript-candidate.ts';

/**
 * The sessions of one agent database as upload candidates. A session whose event count and last
 * `seq` match the ledger is decided without reading its events. The database stays open for the
 * uploads; the caller closes it.
 */
export function scanAgentDatabase(
  agentId: string,
  database: AgentDatabase,
  databasePath: string,
  ledger: LedgerLookup,
  policy: CompletionPolicy,
): TranscriptCandidate[] {
  return database.listSessions().map((session) => {
    const ledgerKey = `sqlite:${databasePath}#${session.sessionId}`;
    const base = {
      agentId,
      kind: 'live' as const,
      sessionId: session.sessionId,
      fileName: `${session.sessionId}.jsonl`,
      ledgerKey,
      marker: {
        kind: 'database',
        eventCount: session.eventCount,
        lastSeq: session.lastSeq,
      } as const,
      source: { type: 'database', database } as const,
      context: session.context,
    };
    const known = unchangedSince(ledger.get(ledgerKey), base.marker);
    if (known) return { ...base, decision: unchangedDecision(known) };
    return { ...base, decision: decideDatabaseSession(session, policy) };
  });
}

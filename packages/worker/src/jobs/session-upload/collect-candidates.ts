import type { Logger } from 'pino';
import { coerceError } from '@nexus/core';
import type { CompletionPolicy } from '../../openclaw/completion.ts';
import { AgentDatabase, DatabaseSchemaError } from '../../openclaw/agent-database.ts';
import type { AgentSessions } from '../../openclaw/state-dir.ts';
import { scanAgentDatabase } from './scan-agent-database.ts';
import { scanSessionsFolder } from './scan-sessions-folder.ts';
import type { TranscriptCandidate } from './transcript-candidate.ts';
import type { LedgerLookup } from './upload-ledger.ts';

export interface CollectOptions {
  readonly sources: readonly ('files' | 'database')[];
  readonly allowUnknownSchema: boolean;
  readonly known: LedgerLookup;
  readonly policy: CompletionPolicy;
  readonly logger: Logger;
  /** Count the archives the ledger knows instead of listing them (`scanSessionsFolder`). */
  readonly countKnownArchives: boolean;
}

/**
 * Every transcript of these agents, from their agent database and their sessions folder, each
 * with its decision. The databases stay open (uploads read from them): the caller closes them.
 * A database that cannot be read skips that agent's database for this run, with a warning.
 */
export async function collectCandidates(
  agents: readonly AgentSessions[],
  options: CollectOptions,
): Promise<{
  candidates: TranscriptCandidate[];
  /** Archives the ledger knows, counted and not listed. */
  knownArchives: number;
  databases: AgentDatabase[];
  skippedDatabases: number;
}> {
  const { sources, known, policy, logger } = options;
  const candidates: TranscriptCandidate[] = [];
  const databases: AgentDatabase[] = [];
  let skippedDatabases = 0;
  let knownArchives = 0;
  for (const agent of agents) {
    let database: AgentDatabase | undefined;
    if (sources.includes('database') && agent.databasePath !== undefined) {
      try {
        database = AgentDatabase.open(agent.databasePath, {
          allowUnknownSchema: options.allowUnknownSchema,
        });
        databases.push(database);
        candidates.push(
          ...scanAgentDatabase(agent.agentId, database, agent.databasePath, known, policy),
        );
      } catch (caught) {
        skippedDatabases += 1;
        const reason =
          caught instanceof DatabaseSchemaError ? caught.message : coerceError(caught).message;
        logger.warn(
          { agent: agent.agentId, database: agent.databasePath },
          `agent ${agent.agentId}: its database is skipped this run: ${reason}`,
        );
      }
    }
    if (sources.includes('files')) {
      // A delete archive takes its session key and reason from the database's archive table.
      const scan = await scanSessionsFolder(
        agent.agentId,
        agent.sessionsDir,
        known,
        policy,
        database?.archiveContexts(),
        options.countKnownArchives,
      );
      knownArchives += scan.knownArchives;
      for (const ignored of scan.ignored)
        logger.debug({ file: ignored.path }, `skipped: ${ignored.reason}`);
      candidates.push(...scan.candidates);
    }
  }
  return { candidates, knownArchives, databases, skippedDatabases };
}

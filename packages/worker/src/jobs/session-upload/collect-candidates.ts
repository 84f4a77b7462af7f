import type { Logger } from 'pino';
import { coerceError } from '@nexus/core';
import type { CompletionPolicy } from '../../openclaw/completion.ts';
import { AgentDatabase, DatabaseSchemaError } from '../../openclaw/agent-database.ts';
import type { AgentSessions } from '../../openclaw/state-dir.ts';
import { scanAgentDatabase } from './scan-agent-database.ts';
import { scanSessionsFolder } from './scan-sessions-folder.ts';
import type { TranscriptCandidate } from './transcript-candidate.ts';
import type { AgentSources, SourceFingerprint } from './settled-source.ts';
import type { LedgerLookup, SettledSource } from './upload-ledger.ts';

export interface CollectOptions {
  readonly sources: readonly ('files' | 'database')[];
  readonly allowUnknownSchema: boolean;
  readonly known: LedgerLookup;
  readonly policy: CompletionPolicy;
  readonly logger: Logger;
  /** Count the archives the ledger knows instead of listing them (`scanSessionsFolder`). */
  readonly countKnownArchives: boolean;
  /**
   * Each agent's sources now and the ledger's settlements (`settled-source.ts`): a settled source
   * is counted, not read. Without it (a dry run, move mode) every source is read.
   */
  readonly survey?: ReadonlyMap<string, AgentSources>;
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
  /** Transcripts the ledger knows, unchanged, counted and not listed: archives, settled sources. */
  unlisted: number;
  /** Sources read this run and found all known and unchanged: to settle at these fingerprints. */
  settle: (SettledSource & SourceFingerprint)[];
  databases: AgentDatabase[];
  skippedDatabases: number;
}> {
  const { sources, known, policy, logger } = options;
  const candidates: TranscriptCandidate[] = [];
  const databases: AgentDatabase[] = [];
  const settle: (SettledSource & SourceFingerprint)[] = [];
  let skippedDatabases = 0;
  let unlisted = 0;
  for (const agent of agents) {
    const survey = options.survey?.get(agent.agentId);
    const folderSettled = survey?.folder?.settled === true;
    const databaseSettled = survey?.database?.settled;
    let database: AgentDatabase | undefined;
    const scanFiles = sources.includes('files');
    const scanDatabase = sources.includes('database') && agent.databasePath !== undefined;
    if (scanDatabase && databaseSettled !== undefined) unlisted += databaseSettled;
    // A settled database is opened only for what a folder's new archives need from it.
    const openDatabase =
      scanDatabase && (databaseSettled === undefined || (scanFiles && !folderSettled));
    if (openDatabase) {
      try {
        database = AgentDatabase.open(agent.databasePath, {
          allowUnknownSchema: options.allowUnknownSchema,
        });
        databases.push(database);
        if (databaseSettled === undefined) {
          const found = scanAgentDatabase(
            agent.agentId,
            database,
            agent.databasePath,
            known,
            policy,
          );
          candidates.push(...found);
          const now = survey?.database?.now;
          if (now && found.every(({ decision }) => 'ledger' in decision))
            settle.push({ ...now, transcripts: found.length });
        }
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
    if (scanFiles) {
      // A delete archive takes its session key and reason from the database's archive table.
      const scan = await scanSessionsFolder(
        agent.agentId,
        agent.sessionsDir,
        known,
        policy,
        folderSettled ? undefined : database?.archiveContexts(),
        options.countKnownArchives ? (folderSettled ? 'settled' : 'known') : 'none',
      );
      unlisted += scan.knownArchives;
      for (const ignored of scan.ignored)
        logger.debug({ file: ignored.path }, `skipped: ${ignored.reason}`);
      candidates.push(...scan.candidates);
      const now = survey?.folder?.now;
      const archiveListed = scan.candidates.some(
        ({ kind }) => kind === 'reset' || kind === 'deleted',
      );
      if (now && !folderSettled && options.countKnownArchives && scan.listed && !archiveListed)
        settle.push({ ...now, transcripts: scan.knownArchives });
    }
  }
  return { candidates, unlisted, settle, databases, skippedDatabases };
}

import { statSync, type BigIntStats } from 'node:fs';
import { join, sep } from 'node:path';

/**
 * A source of transcripts (an agent's sessions folder, an agent database) as `stat` sees it. When
 * a run finds everything in a source already in the upload ledger and unchanged, the ledger keeps
 * the source's fingerprint (`UploadLedger.settle`); a later run that finds the same fingerprint
 * knows the same without reading the source or the ledger's entries for it (bench B4: 100,000
 * archives and 10,000 database sessions were most of an idle run).
 *
 * - A folder's fingerprint changes whenever a name in it is added, removed or renamed (its mtime
 *   and ctime). It vouches for the folder's reset and delete archives only: they are written once
 *   and never changed (OPENCLAW.md). Primary transcripts and `.bak` files are looked at every run.
 * - A database's changes with any write to it: SQLite writes the WAL file, or the database file
 *   itself (checkpoints, other journal modes), which sets its mtime. Not its ctime: SQLite
 *   touches the WAL's at every open, the worker's own read-only ones included. It vouches for
 *   every session in it.
 */
export interface SourceFingerprint {
  /** The ledger keys of the source's transcripts start with this. */
  readonly prefix: string;
  /** Device, inode, size and times (ns) of the files that change with the source. */
  readonly fingerprint: string;
}

/**
 * A source changed less than this long ago (or, by the clock, in the future) is not fingerprinted:
 * a change in the same clock tick as the one seen leaves mtime and ctime as they were (Linux keeps
 * file times at the kernel's tick), and a network file system's clock may be off by seconds.
 */
export const SETTLE_MS = 10_000;

/** A sessions folder's fingerprint, or `undefined` when it is missing or changed just now. */
export function folderFingerprint(dir: string, nowMs: number): SourceFingerprint | undefined {
  const stats = statSync(dir, { bigint: true, throwIfNoEntry: false });
  if (!stats?.isDirectory() || !settled(stats, nowMs, 'ctime')) return undefined;
  return { prefix: join(dir, sep), fingerprint: fingerprintOf(stats, 'ctime') };
}

/** An agent database's fingerprint (with its WAL file's), or `undefined` as for a folder. */
export function databaseFingerprint(path: string, nowMs: number): SourceFingerprint | undefined {
  const parts: string[] = [];
  for (const file of [path, `${path}-wal`]) {
    const stats = statSync(file, { bigint: true, throwIfNoEntry: false });
    if (stats === undefined && file !== path) {
      parts.push('no-wal');
      continue;
    }
    if (!stats?.isFile() || !settled(stats, nowMs, 'mtime')) return undefined;
    parts.push(fingerprintOf(stats, 'mtime'));
  }
  return { prefix: `sqlite:${path}#`, fingerprint: parts.join(' ') };
}

/** The times that count: a folder's mtime and ctime, a database file's mtime only. */
type Times = 'ctime' | 'mtime';

function settled(stats: BigIntStats, nowMs: number, times: Times): boolean {
  const newest = times === 'ctime' && stats.ctimeNs > stats.mtimeNs ? stats.ctimeNs : stats.mtimeNs;
  return Number(newest / 1_000_000n) <= nowMs - SETTLE_MS;
}

function fingerprintOf(stats: BigIntStats, times: Times): string {
  const ctime = times === 'ctime' ? `:${String(stats.ctimeNs)}` : '';
  return `${String(stats.dev)}:${String(stats.ino)}:${String(stats.size)}:${String(stats.mtimeNs)}${ctime}`;
}

/** One agent's sources now, and whether the ledger settled each at this fingerprint. */
export interface AgentSources {
  readonly folder?: { readonly now: SourceFingerprint; readonly settled: boolean };
  readonly database?: { readonly now: SourceFingerprint; readonly settled?: number };
}

/**
 * Each agent's sources' fingerprints, checked against the ledger's settlements (`settled`
 * answers the ledger's entry for a prefix). A database settled at its fingerprint now says how
 * many sessions it holds.
 */
export function surveySources(
  agents: readonly { agentId: string; sessionsDir: string; databasePath?: string | undefined }[],
  settled: (prefix: string) => { fingerprint: string; transcripts: number } | undefined,
  nowMs: number,
): Map<string, AgentSources> {
  const survey = new Map<string, AgentSources>();
  for (const agent of agents) {
    const folder = folderFingerprint(agent.sessionsDir, nowMs);
    const database =
      agent.databasePath === undefined ? undefined : databaseFingerprint(agent.databasePath, nowMs);
    const databaseSettled = database && settled(database.prefix);
    survey.set(agent.agentId, {
      ...(folder
        ? {
            folder: {
              now: folder,
              settled: settled(folder.prefix)?.fingerprint === folder.fingerprint,
            },
          }
        : {}),
      ...(database
        ? {
            database: {
              now: database,
              ...(databaseSettled?.fingerprint === database.fingerprint
                ? { settled: databaseSettled.transcripts }
                : {}),
            },
          }
        : {}),
    });
  }
  return survey;
}

/** The prefixes of settled sources: their ledger entries are read only when asked for. */
export function settledPrefixes(survey: ReadonlyMap<string, AgentSources>): string[] {
  return [...survey.values()].flatMap(({ folder, database }) => [
    ...(folder?.settled ? [folder.now.prefix] : []),
    ...(database?.settled === undefined ? [] : [database.now.prefix]),
  ]);
}

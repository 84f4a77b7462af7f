import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { decide, type CompletionPolicy } from '../../openclaw/completion.ts';
import { isLockHeld } from '../../openclaw/lock-file.ts';
import { readLiveSessions } from '../../openclaw/sessions-index.ts';
import { realPathOf } from '../../openclaw/real-path.ts';
import { readHeaderId } from '../../openclaw/transcript-header.ts';
import { classifyFileName } from '../../openclaw/transcript-file-name.ts';
import type { ChangeMarker, LedgerLookup } from './upload-ledger.ts';
import {
  unchangedDecision,
  unchangedSince,
  type TranscriptCandidate,
} from './transcript-candidate.ts';

export interface ScanResult {
  readonly candidates: TranscriptCandidate[];
  readonly ignored: { readonly path: string; readonly reason: string }[];
  /** Archives the ledger knows, counted instead of listed (`countKnownArchives`). */
  readonly knownArchives: number;
  /** The folder was listed (false: it could not be read; nothing in it was seen). */
  readonly listed: boolean;
}

/**
 * Looks at one agent's sessions folder and decides, file by file, what to upload and why not.
 * A file the ledger knows with the same size and mtime is decided without being opened.
 */
export async function scanSessionsFolder(
  agentId: string,
  sessionsDir: string,
  ledger: LedgerLookup,
  policy: CompletionPolicy,
  /** The agent database's word on its delete archives (session key, reason), if it has one. */
  archives: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map(),
  /**
   * `known`: count the archives the ledger knows rather than list them, as a run that neither
   * moves files nor explains its decisions (keep mode, not a dry run) has nothing to do with them;
   * `settled`: count every archive, without asking the ledger, as the folder is settled
   * (`settled-source.ts`); `none`: list them all.
   */
  countArchives: 'none' | 'known' | 'settled' = 'none',
): Promise<ScanResult> {
  const candidates: TranscriptCandidate[] = [];
  const ignored: { path: string; reason: string }[] = [];
  let knownArchives = 0;
  let names: string[];
  try {
    names = await readdir(sessionsDir);
  } catch {
    return { candidates, ignored, knownArchives, listed: false };
  }
  // `join` once (it keeps the trailing separator): a name from `readdir` has nothing to
  // normalise, and 100,000 joins were 6% of an idle run (bench B4).
  const folder = join(sessionsDir, sep);
  const classified = names.map((name) => ({
    name,
    path: `${folder}${name}`,
    file: classifyFileName(name),
  }));
  const locks = new Set(
    classified.flatMap(({ file }) => (file.role === 'lock' ? [file.stem] : [])),
  );
  let live: Awaited<ReturnType<typeof readLiveSessions>> | undefined;
  // `sessions.json` may name a file through another path than ours (a symlinked state or
  // sessions folder): decide on real paths, or a live session would look complete.
  const realDir = realPathOf(sessionsDir);

  for (const { name, path, file } of classified) {
    if (file.role === 'lock') continue;
    if (file.role === 'ignored') {
      ignored.push({ path, reason: file.reason });
      continue;
    }
    // A reset or delete archive is written once and never changed (OPENCLAW.md): one the ledger
    // knows is decided by its name, without a `stat` (8 µs a file, most of an idle run over
    // 100,000 archives: bench B4). A `.bak` or a primary transcript may be rewritten: stat'ed.
    const archive = file.kind === 'reset' || file.kind === 'deleted';
    if (
      archive &&
      (countArchives === 'settled' || (countArchives === 'known' && ledger.has(path)))
    ) {
      knownArchives += 1;
      continue;
    }
    const entry = ledger.get(path);
    let marker: Extract<ChangeMarker, { kind: 'file' }>;
    if (entry && archive && entry.marker.kind === 'file') {
      marker = entry.marker; // decided by its name
    } else {
      // Synchronous on purpose: an idle run stats thousands of unchanged files, and a thread-pool
      // round trip per file cost 70 µs each (bench B4); the worker has nothing else to do meanwhile.
      const stats = statSync(path, { throwIfNoEntry: false });
      if (!stats?.isFile()) continue;
      marker = { kind: 'file', size: stats.size, mtimeMs: stats.mtimeMs };
    }
    const shared = {
      agentId,
      kind: file.kind,
      fileName: name,
      ledgerKey: path,
      source: { type: 'file', path, compressed: file.compressed } as const,
      context: file.kind === 'deleted' ? archiveContext(archives, name) : {},
    };
    const known = unchangedSince(entry, marker);
    if (known) {
      candidates.push({
        ...shared,
        marker,
        sessionId: file.stem,
        decision: unchangedDecision(known),
      });
      continue;
    }
    const base = { ...shared, marker };
    const headerId = await readHeaderId(path, file.compressed);
    const sessionId = headerId ?? file.stem;
    if (file.kind === 'live') {
      // Read lazily: only folders with primary transcripts need the index.
      live ??= await readLiveSessions(sessionsDir);
      if (live === 'unreadable') {
        candidates.push({
          ...base,
          sessionId,
          decision: {
            upload: false,
            reason: 'sessions.json is unreadable right now (being written?); trying next run',
          },
        });
        continue;
      }
    }
    const locked = locks.has(file.stem) && (await isLockHeld(`${path}.lock`, policy.nowMs));
    const decision = decide(
      {
        kind: file.kind,
        path: join(realDir, name),
        stemId: file.stem,
        headerId,
        mtimeMs: marker.mtimeMs,
        locked,
      },
      live === undefined || live === 'unreadable'
        ? { sessionIds: new Set(), sessionFiles: new Set() }
        : live,
      policy,
    );
    candidates.push({ ...base, sessionId, decision });
  }
  return { candidates, ignored, knownArchives, listed: true };
}

/** A delete archive's context, found by its name or by the generation in it (era C, 2026.9). */
function archiveContext(
  archives: ReadonlyMap<string, Readonly<Record<string, string>>>,
  name: string,
): Readonly<Record<string, string>> {
  const generation = /\.([0-9a-f]{32})\.zst$/.exec(name)?.[1];
  return (
    archives.get(`name:${name}`) ??
    (generation === undefined ? undefined : archives.get(`generation:${generation}`)) ??
    {}
  );
}

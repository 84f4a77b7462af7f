import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decide, type CompletionPolicy, type Decision } from '../../openclaw/completion.ts';
import { isLockHeld } from '../../openclaw/lock-file.ts';
import { readLiveSessions } from '../../openclaw/sessions-index.ts';
import { readHeaderId } from '../../openclaw/transcript-header.ts';
import { classifyFileName } from '../../openclaw/transcript-file-name.ts';
import type { LedgerEntry } from './upload-ledger.ts';

export interface ScannedFile {
  readonly agentId: string;
  readonly path: string;
  readonly name: string;
  readonly kind: 'live' | 'reset' | 'deleted' | 'bak';
  readonly compressed: boolean;
  readonly size: number;
  readonly mtimeMs: number;
  /** The header's id, else the id in the file name. */
  readonly sessionId: string;
  readonly decision:
    Decision | { readonly upload: false; readonly reason: string; readonly ledger: LedgerEntry };
}

export interface ScanResult {
  readonly files: ScannedFile[];
  readonly ignored: { readonly path: string; readonly reason: string }[];
}

/**
 * Looks at one agent's sessions folder and decides, file by file, what to upload and why not.
 * A file the ledger knows with the same size and mtime is decided without being opened.
 */
export async function scanSessionsFolder(
  agentId: string,
  sessionsDir: string,
  ledger: ReadonlyMap<string, LedgerEntry>,
  policy: CompletionPolicy,
): Promise<ScanResult> {
  const files: ScannedFile[] = [];
  const ignored: { path: string; reason: string }[] = [];
  let names: string[];
  try {
    names = await readdir(sessionsDir);
  } catch {
    return { files, ignored };
  }
  const classified = names.map((name) => ({
    name,
    path: join(sessionsDir, name),
    file: classifyFileName(name),
  }));
  const locks = new Set(
    classified.flatMap(({ file }) => (file.role === 'lock' ? [file.stem] : [])),
  );
  let live: Awaited<ReturnType<typeof readLiveSessions>> | undefined;

  for (const { name, path, file } of classified) {
    if (file.role === 'lock') continue;
    if (file.role === 'ignored') {
      ignored.push({ path, reason: file.reason });
      continue;
    }
    const stats = await stat(path).catch(() => undefined);
    if (!stats?.isFile()) continue;
    const base = {
      agentId,
      path,
      name,
      kind: file.kind,
      compressed: file.compressed,
      size: stats.size,
      mtimeMs: stats.mtimeMs,
    };
    const known = ledger.get(path);
    if (known && known.size === stats.size && known.mtimeMs === stats.mtimeMs) {
      const reason =
        known.status === 'uploaded'
          ? 'uploaded before, unchanged'
          : `rejected before, unchanged: ${known.detail}`;
      files.push({
        ...base,
        sessionId: file.stem,
        decision: { upload: false, reason, ledger: known },
      });
      continue;
    }
    const headerId = await readHeaderId(path, file.compressed);
    const sessionId = headerId ?? file.stem;
    if (file.kind === 'live') {
      // Read lazily: only folders with primary transcripts need the index.
      live ??= await readLiveSessions(sessionsDir);
      if (live === 'unreadable') {
        files.push({
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
      { kind: file.kind, path, stemId: file.stem, headerId, mtimeMs: stats.mtimeMs, locked },
      live === undefined || live === 'unreadable'
        ? { sessionIds: new Set(), sessionFiles: new Set() }
        : live,
      policy,
    );
    files.push({ ...base, sessionId, decision });
  }
  return { files, ignored };
}

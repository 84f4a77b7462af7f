import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { errorCode } from '@nexus/core';
import type { LiveSessions } from './completion.ts';
import { realPathOf } from './real-path.ts';

/**
 * The live sessions of one agent from `sessions.json`: an object keyed by session key whose
 * values hold `sessionId` and an optional absolute `sessionFile` (returned as a real path). A missing index means nothing
 * is live (era C has none). An unreadable one (OpenClaw mid-write) is reported, so the caller
 * treats every primary transcript as live this run rather than uploading a live one.
 */
export async function readLiveSessions(sessionsDir: string): Promise<LiveSessions | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(join(sessionsDir, 'sessions.json'), 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      return { sessionIds: new Set(), sessionFiles: new Set() };
    }
    return 'unreadable';
  }
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch {
    return 'unreadable';
  }
  const sessionIds = new Set<string>();
  const sessionFiles = new Set<string>();
  if (typeof index === 'object' && index !== null) {
    for (const value of Object.values(index)) {
      if (typeof value !== 'object' || value === null) continue;
      const entry = value as { sessionId?: unknown; sessionFile?: unknown };
      if (typeof entry.sessionId === 'string') sessionIds.add(entry.sessionId);
      if (typeof entry.sessionFile === 'string') {
        // Real paths: the caller compares them with real paths of the files it finds.
        sessionFiles.add(
          realPathOf(
            isAbsolute(entry.sessionFile)
              ? entry.sessionFile
              : join(sessionsDir, entry.sessionFile),
          ),
        );
      }
    }
  }
  return { sessionIds, sessionFiles };
}

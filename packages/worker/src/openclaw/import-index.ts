import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The `sessions.json` that lets today's OpenClaw take restored transcript files back into its
 * agent database. Tried on a real OpenClaw 2026.9.6: `openclaw doctor --session-sqlite import
 * --session-sqlite-agent <agent>` imports each `sessions/<id>.jsonl` that a `sessions.json` entry
 * names (byte for byte: the database rebuilds the same bytes), and moves the files out of
 * `sessions/`; a file no entry names is not imported. Each restored session gets a key of its own,
 * `agent:<agent>:restored:<session>`, so no live session key of OpenClaw is taken over.
 *
 * Never overwrites: with a `sessions.json` already there (an older OpenClaw's own index), the
 * entries go to `sessions.nexus-restore.json` for the user to merge, and the answer says so.
 */
export async function writeImportIndex(
  sessionsFolder: string,
  agentId: string,
  sessionIds: readonly string[],
  nowMs: number,
): Promise<{ file: string; isIndex: boolean }> {
  const entries: Record<string, { sessionId: string; updatedAt: number; sessionFile: string }> = {};
  for (const sessionId of sessionIds) {
    entries[`agent:${agentId}:restored:${sessionId}`] = {
      sessionId,
      updatedAt: nowMs,
      sessionFile: join(sessionsFolder, `${sessionId}.jsonl`),
    };
  }
  const index = join(sessionsFolder, 'sessions.json');
  const file = existsSync(index) ? join(sessionsFolder, 'sessions.nexus-restore.json') : index;
  await writeFile(file, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  return { file, isIndex: file === index };
}

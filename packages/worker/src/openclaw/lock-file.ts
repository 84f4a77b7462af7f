import { readFile } from 'node:fs/promises';
import { errorCode } from '@nexus/core';

/** OpenClaw treats a transcript lock older than this as stale (OPENCLAW.md). */
export const STALE_LOCK_MS = 30 * 60 * 1000;

/**
 * Whether `<file>.jsonl.lock` is held by a live writer: `{"pid":..,"createdAt":..}`, not older
 * than 30 minutes, and its process still exists. An unreadable lock counts as held: the safe
 * side is to wait.
 */
export async function isLockHeld(
  lockPath: string,
  nowMs: number,
  pidAlive: (pid: number) => boolean = processExists,
): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch {
    return false;
  }
  try {
    const lock = JSON.parse(text) as { pid?: unknown; createdAt?: unknown };
    const created =
      typeof lock.createdAt === 'number'
        ? lock.createdAt
        : typeof lock.createdAt === 'string'
          ? Date.parse(lock.createdAt)
          : NaN;
    if (Number.isFinite(created) && nowMs - created > STALE_LOCK_MS) return false;
    if (typeof lock.pid === 'number' && !pidAlive(lock.pid)) return false;
    return true;
  } catch {
    return true;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errorCode(error) === 'EPERM';
  }
}

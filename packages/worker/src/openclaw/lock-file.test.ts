import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STALE_LOCK_MS, isLockHeld } from './lock-file.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('isLockHeld', () => {
  const lockWith = async (content: string) => {
    const path = join(await mkdtemp(join(tmpdir(), 'nexus-lock-')), 'a.jsonl.lock');
    await writeFile(path, content);
    return path;
  };

  it('holds for a fresh lock of a live process', async () => {
    expect(
      await isLockHeld(
        await lockWith(JSON.stringify({ pid: 42, createdAt: NOW - 1000 })),
        NOW,
        () => true,
      ),
    ).toBe(true);
  });

  it('is stale after 30 minutes', async () => {
    expect(
      await isLockHeld(
        await lockWith(JSON.stringify({ pid: 42, createdAt: NOW - STALE_LOCK_MS - 1 })),
        NOW,
        () => true,
      ),
    ).toBe(false);
  });

  it('is stale when its process is gone', async () => {
    expect(
      await isLockHeld(
        await lockWith(JSON.stringify({ pid: 42, createdAt: NOW })),
        NOW,
        () => false,
      ),
    ).toBe(false);
  });

  it('counts an unreadable lock as held: waiting is the safe side', async () => {
    expect(await isLockHeld(await lockWith('{half a lock'), NOW, () => false)).toBe(true);
  });

  it('is not held when there is no lock file', async () => {
    expect(await isLockHeld('/nonexistent/a.jsonl.lock', NOW)).toBe(false);
  });
});

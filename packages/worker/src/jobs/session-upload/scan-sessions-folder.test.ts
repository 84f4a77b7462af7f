import { mkdir, mkdtemp, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanSessionsFolder } from './scan-sessions-folder.ts';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const POLICY = { nowMs: NOW, quietMs: 15 * 60_000, snapshots: false };
const CRON_FILE = 'c0ffee00-0000-4000-8000-000000000001.jsonl';

/**
 * A cron session: `sessions.json` names its file only by `sessionFile` (its `sessionId` is the
 * job's next run), and the file has been quiet for an hour.
 */
async function cronSession(sessionsDir: string, sessionFile: string): Promise<void> {
  await mkdir(sessionsDir, { recursive: true });
  const path = join(sessionsDir, CRON_FILE);
  await writeFile(
    path,
    '{"type":"session","version":3,"id":"cron-run-1","timestamp":"2026-11-25T10:00:00.000Z"}\n',
  );
  await utimes(path, new Date(NOW - 3_600_000), new Date(NOW - 3_600_000));
  await writeFile(
    join(sessionsDir, 'sessions.json'),
    JSON.stringify({ 'cron:daily': { sessionId: 'cron-run-2', updatedAt: NOW, sessionFile } }),
  );
}

async function decisionOf(sessionsDir: string) {
  const scan = await scanSessionsFolder('main', sessionsDir, new Map(), POLICY);
  return scan.candidates.find((c) => c.fileName === CRON_FILE)?.decision;
}

describe('scanSessionsFolder through symlinks', () => {
  it('keeps a session live when the state folder is a symlink and sessions.json names the real path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nexus-scan-'));
    const real = join(root, 'real-state');
    const sessionsDir = join(real, 'agents', 'main', 'sessions');
    await cronSession(sessionsDir, join(sessionsDir, CRON_FILE));
    await symlink(real, join(root, 'link-state'));
    const viaLink = join(root, 'link-state', 'agents', 'main', 'sessions');
    expect(await decisionOf(viaLink)).toMatchObject({ upload: false });
    // Control: a session sessions.json does not name is complete, through the link too.
    await writeFile(join(sessionsDir, 'sessions.json'), '{}');
    expect(await decisionOf(viaLink)).toMatchObject({ upload: true });
  });

  it('keeps a session live when the sessions folder is a symlink and sessions.json names the path through it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nexus-scan-'));
    const elsewhere = join(root, 'disk2', 'sessions');
    const state = join(root, 'state');
    await mkdir(join(state, 'agents', 'main'), { recursive: true });
    await mkdir(elsewhere, { recursive: true });
    await symlink(elsewhere, join(state, 'agents', 'main', 'sessions'));
    const viaLink = join(state, 'agents', 'main', 'sessions');
    await cronSession(elsewhere, join(viaLink, CRON_FILE));
    // The worker may reach the folder by either path.
    expect(await decisionOf(elsewhere)).toMatchObject({ upload: false });
    expect(await decisionOf(viaLink)).toMatchObject({ upload: false });
  });
});

import { mkdir, mkdtemp, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanSessionsFolder } from './scan-sessions-folder.ts';
import type { LedgerEntry } from './upload-ledger.ts';

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

describe('scanSessionsFolder and the ledger', () => {
  const header = (id: string) =>
    `{"type":"session","version":3,"id":"${id}","timestamp":"2026-11-25T10:00:00.000Z"}\n`;

  it('decides an archive the ledger knows by its name, and stats a .bak or a primary transcript', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'nexus-scan-')), 'sessions');
    await mkdir(dir, { recursive: true });
    const id = 'a0ffee00-0000-4000-8000-000000000001';
    const names = [
      `${id}.jsonl.reset.2026-11-25T10-00-00.000Z`,
      `${id}.jsonl.deleted.2026-11-25T10-00-00.000Z`,
      `${id}.jsonl.bak.2026-11-25T10-00-00.000Z`,
      `${id}.jsonl`,
    ];
    const ledger = new Map<string, LedgerEntry>();
    for (const name of names) {
      const path = join(dir, name);
      await writeFile(path, header(id));
      await utimes(path, new Date(NOW - 3_600_000), new Date(NOW - 3_600_000));
      const marker = { kind: 'file', size: header(id).length, mtimeMs: NOW - 3_600_000 } as const;
      ledger.set(path, {
        key: path,
        marker,
        sha256: 'a'.repeat(64),
        status: 'uploaded',
        detail: '',
      });
      // Changed on disk since the ledger's upload: only a stat would notice.
      await writeFile(path, `${header(id)}{"type":"message"}\n`);
      await utimes(path, new Date(NOW - 3_600_000), new Date(NOW - 3_600_000));
    }
    const scan = await scanSessionsFolder('main', dir, ledger, POLICY);
    const decided = Object.fromEntries(
      scan.candidates.map((c) => [c.fileName.replace(/^[^.]+\.jsonl/, ''), c]),
    );
    // Written once (OPENCLAW.md): the ledger's word stands, with its marker.
    for (const suffix of ['.reset.2026-11-25T10-00-00.000Z', '.deleted.2026-11-25T10-00-00.000Z']) {
      expect(decided[suffix]?.decision).toMatchObject({
        upload: false,
        reason: 'uploaded before, unchanged',
      });
      expect(decided[suffix]?.marker).toEqual(
        ledger.get(join(dir, `${id}.jsonl${suffix}`))?.marker,
      );
    }
    // May be rewritten: the change is seen (a completed primary uploads; a .bak too).
    expect(decided['.bak.2026-11-25T10-00-00.000Z']?.decision).toMatchObject({ upload: true });
    expect(decided['']?.decision).toMatchObject({ upload: true });
  });

  it('counts known archives instead of listing them when asked (keep mode, not a dry run)', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'nexus-scan-')), 'sessions');
    await mkdir(dir, { recursive: true });
    const id = 'a0ffee00-0000-4000-8000-000000000003';
    const ledger = new Map<string, LedgerEntry>();
    const names = [
      `${id}.jsonl.reset.2026-11-25T10-00-00.000Z`,
      `${id}.jsonl.deleted.2026-11-25T10-00-00.000Z.zst`,
      `${id}.jsonl.bak.2026-11-25T10-00-00.000Z`,
      `${id}.jsonl.reset.2026-11-26T10-00-00.000Z`,
    ];
    for (const name of names) await writeFile(join(dir, name), header(id));
    for (const name of names.slice(0, 3)) {
      const path = join(dir, name);
      const marker = { kind: 'file', size: 1, mtimeMs: 1 } as const;
      const status = name.includes('.zst') ? 'rejected' : 'uploaded';
      ledger.set(path, { key: path, marker, sha256: 'a'.repeat(64), status, detail: '' });
    }
    const counted = await scanSessionsFolder('main', dir, ledger, POLICY, new Map(), 'known');
    // Two known archives (uploaded or rejected alike) counted; the .bak and the new archive listed.
    expect(counted.knownArchives).toBe(2);
    expect(counted.candidates.map((c) => c.fileName).sort()).toEqual([names[2], names[3]].sort());
    const listed = await scanSessionsFolder('main', dir, ledger, POLICY);
    expect(listed.knownArchives).toBe(0);
    expect(listed.candidates).toHaveLength(4);
    // A settled folder's archives are all counted without asking the ledger; the .bak is listed.
    const asked: string[] = [];
    const spy = {
      has: (key: string) => (asked.push(key), ledger.has(key)),
      get: (key: string) => (asked.push(key), ledger.get(key)),
    };
    const settled = await scanSessionsFolder('main', dir, spy, POLICY, new Map(), 'settled');
    expect(settled.knownArchives).toBe(3);
    expect(settled.candidates.map((c) => c.fileName)).toEqual([names[2]]);
    expect(asked).toEqual([join(dir, names[2] ?? '')]);
  });

  it('stats an archive the ledger does not know', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'nexus-scan-')), 'sessions');
    await mkdir(dir, { recursive: true });
    const id = 'a0ffee00-0000-4000-8000-000000000002';
    await writeFile(join(dir, `${id}.jsonl.reset.2026-11-25T10-00-00.000Z`), header(id));
    const scan = await scanSessionsFolder('main', dir, new Map(), POLICY);
    expect(scan.candidates).toHaveLength(1);
    expect(scan.candidates[0]?.decision).toMatchObject({ upload: true });
    expect(scan.candidates[0]?.marker).toMatchObject({ kind: 'file', size: header(id).length });
  });
});

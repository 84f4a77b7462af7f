import { appendFileSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import {
  SETTLE_MS,
  databaseFingerprint,
  folderFingerprint,
  settledPrefixes,
  surveySources,
} from './settled-source.ts';

/** A clock far enough ahead that what was just written counts as settled. */
const later = () => Date.now() + SETTLE_MS + 60_000;

describe('source fingerprints', () => {
  it("change with a folder's names (added, renamed, removed), not with a file's contents", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-settle-'));
    writeFileSync(join(dir, 'a.jsonl'), '{}\n');
    const first = folderFingerprint(dir, later());
    expect(first?.prefix).toBe(join(dir, sep));
    // Appending to a transcript leaves the folder as it was: such files are looked at every run.
    appendFileSync(join(dir, 'a.jsonl'), '{}\n');
    expect(folderFingerprint(dir, later())).toEqual(first);
    const seen = new Set([first?.fingerprint]);
    writeFileSync(join(dir, 'b.jsonl.reset.2026-11-25T10-00-00.000Z'), '{}\n');
    const added = folderFingerprint(dir, later())?.fingerprint;
    expect(seen.has(added)).toBe(false);
    seen.add(added);
    renameSync(join(dir, 'a.jsonl'), join(dir, 'a.jsonl.deleted.2026-11-25T10-00-00.000Z'));
    expect(seen.has(folderFingerprint(dir, later())?.fingerprint)).toBe(false);
  });

  it('change with any write to a database or its WAL, and tell a missing WAL from an empty one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-settle-'));
    const path = join(dir, 'agent.sqlite');
    writeFileSync(path, 'db');
    const first = databaseFingerprint(path, later());
    expect(first?.prefix).toBe(`sqlite:${path}#`);
    expect(first?.fingerprint).toMatch(/ no-wal$/);
    writeFileSync(`${path}-wal`, '');
    const withWal = databaseFingerprint(path, later());
    expect(withWal?.fingerprint).not.toBe(first?.fingerprint);
    appendFileSync(`${path}-wal`, 'frame');
    const written = databaseFingerprint(path, later());
    expect(written?.fingerprint).not.toBe(withWal?.fingerprint);
    appendFileSync(path, 'checkpoint');
    expect(databaseFingerprint(path, later())?.fingerprint).not.toBe(written?.fingerprint);
  });

  it('stay the same when the worker reads the database, as it does every run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-settle-'));
    const path = join(dir, 'agent.sqlite');
    const writer = new DatabaseSync(path);
    writer.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    writer.close();
    const read = () => {
      // Opening read-only creates the WAL file if it is missing, and SQLite touches it (its ctime)
      // at each open, though nothing is written.
      const reader = new DatabaseSync(path, { readOnly: true });
      reader.prepare('SELECT x FROM t').all();
      reader.close();
    };
    read();
    const before = databaseFingerprint(path, later());
    await new Promise((resolve) => setTimeout(resolve, 20));
    read();
    expect(databaseFingerprint(path, later())).toEqual(before);
    // Nor is a database just read by the worker taken as just changed.
    const { mtimeMs } = statSync(`${path}-wal`);
    expect(databaseFingerprint(path, mtimeMs + SETTLE_MS + 1)).toEqual(before);
  });

  it('are not taken of a source changed within SETTLE_MS, or missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-settle-'));
    const path = join(dir, 'agent.sqlite');
    writeFileSync(path, 'db');
    // Just written: a change in the same clock tick would not show, so nothing is vouched for.
    expect(folderFingerprint(dir, Date.now())).toBeUndefined();
    expect(databaseFingerprint(path, Date.now())).toBeUndefined();
    // Times ahead of the clock (another machine's, on a network share) are not trusted either.
    expect(folderFingerprint(dir, Date.now() - 60_000)).toBeUndefined();
    expect(folderFingerprint(join(dir, 'missing'), later())).toBeUndefined();
    expect(databaseFingerprint(join(dir, 'missing.sqlite'), later())).toBeUndefined();
    // Settled a minute after it was written, unless its WAL was written in the meantime.
    const inAMinute = Date.now() + SETTLE_MS + 1000;
    expect(databaseFingerprint(path, inAMinute)).toBeDefined();
    writeFileSync(`${path}-wal`, 'frame');
    const walTime = statSync(`${path}-wal`).ctimeMs;
    expect(databaseFingerprint(path, walTime + SETTLE_MS - 1)).toBeUndefined();
    expect(databaseFingerprint(path, walTime + SETTLE_MS + 1)).toBeDefined();
  });
});

describe('surveySources', () => {
  it('takes a source as settled only at the fingerprint the ledger settled it with', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nexus-settle-'));
    const sessionsDir = join(root, 'sessions');
    mkdirSync(sessionsDir);
    const databasePath = join(root, 'agent.sqlite');
    writeFileSync(databasePath, 'db');
    const agents = [{ agentId: 'main', sessionsDir, databasePath }];
    const nowMs = later();
    const folder = folderFingerprint(sessionsDir, nowMs);
    const database = databaseFingerprint(databasePath, nowMs);
    if (!folder || !database) throw new Error('expected fingerprints');

    const settledAt = new Map([
      [folder.prefix, { fingerprint: folder.fingerprint, transcripts: 3 }],
      [database.prefix, { fingerprint: database.fingerprint, transcripts: 7 }],
    ]);
    const survey = surveySources(agents, (prefix) => settledAt.get(prefix), nowMs);
    expect(survey.get('main')).toEqual({
      folder: { now: folder, settled: true },
      database: { now: database, settled: 7 },
    });
    expect(settledPrefixes(survey).sort()).toEqual([database.prefix, folder.prefix].sort());

    // Settled at other fingerprints (the sources changed since): read again.
    const stale = new Map([
      [folder.prefix, { fingerprint: 'other', transcripts: 3 }],
      [database.prefix, { fingerprint: 'other', transcripts: 7 }],
    ]);
    const again = surveySources(agents, (prefix) => stale.get(prefix), nowMs);
    expect(again.get('main')).toEqual({
      folder: { now: folder, settled: false },
      database: { now: database },
    });
    expect(settledPrefixes(again)).toEqual([]);
  });
});

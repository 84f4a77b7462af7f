import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { UploadLedger, rangesBetween } from './upload-ledger.ts';

const entry = (key: string, status: 'uploaded' | 'rejected', detail: string) => ({
  key,
  marker: { kind: 'file' as const, size: 10, mtimeMs: 1 },
  sha256: 'a'.repeat(64),
  status,
  detail,
});

describe('UploadLedger', () => {
  it('forgets, on upgrade, rejections that were about the key, the URL or the storage, and keeps those of the content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-ledger-'));
    const path = join(dir, 'ledger.sqlite');
    // A ledger as version 0.2 wrote it: any 4xx recorded as a rejection.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE files (
        path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms REAL NOT NULL, sha256 TEXT NOT NULL,
        status TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL
      ) WITHOUT ROWID`);
    const insert = old.prepare('INSERT INTO files VALUES (?, 10, 1, ?, ?, ?, ?)');
    const rows: [string, string, string][] = [
      ['/a', 'rejected', 'The API key is not valid for this server (HTTP 401 unauthorized)'],
      ['/b', 'rejected', 'There is no route PUT /x (HTTP 404 route_not_found)'],
      ['/c', 'rejected', 'transcripts container was not found (HTTP 404 not_found)'],
      ['/d', 'rejected', 'Line 2: not valid JSON (HTTP 400 invalid_json)'],
      ['/e', 'rejected', 'The transcript is larger than 10 bytes (HTTP 413 payload_too_large)'],
      ['/f', 'rejected', 'The session id "x/y" is not a safe name'],
      ['/g', 'uploaded', 'complete'],
    ];
    for (const [p, status, detail] of rows)
      insert.run(p, 'a'.repeat(64), status, detail, '2026-11-01T00:00:00.000Z');
    old.close();

    const ledger = UploadLedger.open(path, () => undefined);
    const known = ledger.loadAll();
    expect(['/a', '/b', '/c', '/d', '/e', '/f', '/g'].filter((key) => known.has(key))).toEqual([
      '/d',
      '/e',
      '/f',
      '/g',
    ]);
    ledger.record(entry('/a', 'rejected', 'Line 1: empty (HTTP 400 empty_transcript)'));
    ledger.close();
    // Healed once: a later open keeps what this version recorded.
    const again = UploadLedger.open(path, () => undefined);
    expect(again.loadAll().has('/a')).toBe(true);
    again.close();
  });

  it('moves a damaged ledger aside with a warning that names it, and starts a new one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-ledger-'));
    const path = join(dir, 'ledger.sqlite');
    writeFileSync(path, 'this is not a database, only some bytes '.repeat(200));
    const warnings: string[] = [];
    const ledger = UploadLedger.open(path, (message) => warnings.push(message));
    ledger.record(entry('/x', 'uploaded', 'complete'));
    expect(ledger.loadAll().has('/x')).toBe(true);
    ledger.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path);
    expect(warnings[0]).toMatch(/damaged.*moved it to .*already stored/s);
    const aside = readdirSync(dir).filter((name) => name.includes('.damaged-'));
    expect(aside).toHaveLength(1);
    expect(existsSync(path)).toBe(true);
  });

  it('does not hide other failures to open the ledger', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-ledger-'));
    // A folder where the file should be: not damage, an operator's mistake to see.
    const path = join(dir, 'ledger.sqlite');
    await import('node:fs/promises').then((fs) => fs.mkdir(path));
    expect(() => UploadLedger.open(path, () => undefined)).toThrow();
  });

  it("keeps a database session's marker apart from a file's, across a reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-ledger-'));
    const path = join(dir, 'ledger.sqlite');
    const ledger = UploadLedger.open(path, () => undefined);
    ledger.record({ ...entry('/f.jsonl', 'uploaded', 'complete') });
    ledger.record({
      ...entry('sqlite:/db#s1', 'uploaded', 'snapshot'),
      marker: { kind: 'database', eventCount: 12, lastSeq: 40 },
    });
    ledger.close();
    const again = UploadLedger.open(path, () => undefined);
    expect(again.loadAll().get('/f.jsonl')?.marker).toEqual({ kind: 'file', size: 10, mtimeMs: 1 });
    expect(again.loadAll().get('sqlite:/db#s1')?.marker).toEqual({
      kind: 'database',
      eventCount: 12,
      lastSeq: 40,
    });
    again.close();
  });

  it('reads the entries of settled sources one by one, when asked, and all others at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-ledger-'));
    const ledger = UploadLedger.open(join(dir, 'ledger.sqlite'), () => undefined);
    for (const key of ['/s/main/a', '/s/main/b', '/s/main2/c', 'sqlite:/db#x', '/t'])
      ledger.record(entry(key, 'uploaded', 'complete'));
    const known = ledger.loadAll(['/s/main/', 'sqlite:/db#']);
    for (const key of ['/s/main/a', '/s/main2/c', 'sqlite:/db#x', '/t'])
      expect(known.get(key)?.key).toBe(key);
    expect(known.has('/s/main/z')).toBe(false);
    // Entries written after the load: only those read one by one (under a lazy prefix) show.
    ledger.record(entry('/s/main/z', 'uploaded', 'complete'));
    ledger.record(entry('/s/main2/z', 'uploaded', 'complete'));
    expect(known.has('/s/main/z')).toBe(true);
    expect(known.has('/s/main2/z')).toBe(false);
    ledger.close();
  });

  it('reads the key ranges between lazy prefixes, nested or not, and everything without one', () => {
    const top = '\u{10ffff}';
    expect(rangesBetween([])).toEqual([[undefined, undefined]]);
    expect(rangesBetween(['/s/b/', 'sqlite:/db#', '/s/a/'])).toEqual([
      [undefined, '/s/a/'],
      [`/s/a/${top}`, '/s/b/'],
      [`/s/b/${top}`, 'sqlite:/db#'],
      [`sqlite:/db#${top}`, undefined],
    ]);
    expect(rangesBetween(['/s/', '/s/a/'])).toEqual([
      [undefined, '/s/'],
      [`/s/${top}`, undefined],
    ]);
  });

  it('keeps settled sources across a reopen, and forgets one when an entry under it is forgotten', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-ledger-'));
    const path = join(dir, 'ledger.sqlite');
    const ledger = UploadLedger.open(path, () => undefined);
    ledger.settle('/s/main/', { fingerprint: 'f1', transcripts: 3 });
    ledger.settle('sqlite:/db#', { fingerprint: 'd1', transcripts: 2 });
    ledger.settle('/s/main/', { fingerprint: 'f2', transcripts: 4 });
    ledger.close();
    const again = UploadLedger.open(path, () => undefined);
    expect(again.settled('/s/main/')).toEqual({ fingerprint: 'f2', transcripts: 4 });
    expect(again.settled('/s/other/')).toBeUndefined();
    // A file moved away (move mode): its folder no longer vouches for its archives.
    again.forget('/s/other/x.jsonl');
    expect(again.settled('/s/main/')).toBeDefined();
    again.forget('/s/main/x.jsonl.reset.2026-11-25T10-00-00.000Z');
    expect(again.settled('/s/main/')).toBeUndefined();
    expect(again.settled('sqlite:/db#')).toEqual({ fingerprint: 'd1', transcripts: 2 });
    again.close();
  });

  it('upgrades a version 3 ledger, keeping its entries, to one that settles sources', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-ledger-'));
    const path = join(dir, 'ledger.sqlite');
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE files (
        key TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms REAL NOT NULL, sha256 TEXT NOT NULL,
        status TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
        extendable_bytes INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      INSERT INTO files VALUES ('/a', 10, 1, '${'a'.repeat(64)}', 'uploaded', 'complete', '2026-11-01T00:00:00.000Z', 0);
      PRAGMA user_version = 3;`);
    old.close();
    const ledger = UploadLedger.open(path, () => undefined);
    expect(ledger.loadAll().has('/a')).toBe(true);
    ledger.settle('/s/', { fingerprint: 'f', transcripts: 1 });
    expect(ledger.settled('/s/')).toEqual({ fingerprint: 'f', transcripts: 1 });
    ledger.close();
    const check = new DatabaseSync(path);
    expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: 4 });
    check.close();
  });
});

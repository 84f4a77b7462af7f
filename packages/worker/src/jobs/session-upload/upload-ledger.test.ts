import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { UploadLedger } from './upload-ledger.ts';

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
    expect([...ledger.loadAll().keys()].sort()).toEqual(['/d', '/e', '/f', '/g']);
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
    expect(ledger.loadAll().size).toBe(1);
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
});

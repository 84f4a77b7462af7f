import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface LedgerEntry {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  readonly status: 'uploaded' | 'rejected';
  readonly detail: string;
}

/**
 * What the worker has already done with each file, so `keep` mode (files stay where OpenClaw
 * reads them) never uploads the same content twice and a run over thousands of unchanged files
 * reads none of them: a file whose size and mtime match its entry is skipped without opening it.
 * A rejected file is remembered too, and tried again only once it changes.
 */
export class UploadLedger {
  private readonly db: DatabaseSync;
  private readonly upsert;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS files (
        path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms REAL NOT NULL, sha256 TEXT NOT NULL,
        status TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL
      ) WITHOUT ROWID;
    `);
    this.upsert = this.db.prepare(
      `INSERT INTO files (path, size, mtime_ms, sha256, status, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256,
         status = excluded.status, detail = excluded.detail, at = excluded.at`,
    );
  }

  /** Every entry, read once per run: one query instead of one per file. */
  loadAll(): Map<string, LedgerEntry> {
    const rows = this.db
      .prepare('SELECT path, size, mtime_ms AS mtimeMs, sha256, status, detail FROM files')
      .all() as unknown as LedgerEntry[];
    return new Map(rows.map((row) => [row.path, row]));
  }

  record(entry: LedgerEntry): void {
    this.upsert.run(
      entry.path,
      entry.size,
      entry.mtimeMs,
      entry.sha256,
      entry.status,
      entry.detail,
      new Date().toISOString(),
    );
  }

  forget(path: string): void {
    this.db.prepare('DELETE FROM files WHERE path = ?').run(path);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

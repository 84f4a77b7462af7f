import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { coerceError } from '@nexus/core';
import { isContentRejection } from '../../api-client/upload-refusal.ts';

/**
 * What tells whether a transcript changed since it was handled, without reading it: a file's size
 * and mtime, a database session's event count and last `seq`.
 */
export type ChangeMarker =
  | { readonly kind: 'file'; readonly size: number; readonly mtimeMs: number }
  | { readonly kind: 'database'; readonly eventCount: number; readonly lastSeq: number };

export interface LedgerEntry {
  /** A file's path, or `sqlite:<database>#<session>` for a database session. */
  readonly key: string;
  readonly marker: ChangeMarker;
  readonly sha256: string;
  readonly status: 'uploaded' | 'rejected';
  readonly detail: string;
  /**
   * The uploaded content's length when a later version of it can be sent as an increment (it
   * ended with a newline), else 0.
   */
  readonly extendableBytes?: number;
}

/** A row of `files` as `loadAll` reads it. */
type LedgerRow = [string, number, number, string, LedgerEntry['status'], string, number];

/** What a run asks of the ledger as it was at the run's start. */
export type LedgerLookup = Pick<ReadonlyMap<string, LedgerEntry>, 'get' | 'has'>;

/**
 * The ledger as read at the start of a run (`loadAll`); entries are built on `get`. Keys under
 * the prefixes of settled sources were not read at once: they are looked up one by one.
 */
export class LedgerIndex implements LedgerLookup {
  private readonly rows: ReadonlyMap<string, LedgerRow>;
  private readonly lazy: {
    readonly prefixes: readonly string[];
    readonly read: (key: string) => LedgerRow | undefined;
  };

  constructor(rows: ReadonlyMap<string, LedgerRow>, lazy: LedgerIndex['lazy']) {
    this.rows = rows;
    this.lazy = lazy;
  }

  has(key: string): boolean {
    return this.row(key) !== undefined;
  }

  get(key: string): LedgerEntry | undefined {
    const row = this.row(key);
    if (row === undefined) return undefined;
    const [, size, mtimeMs, sha256, status, detail, extendableBytes] = row;
    return { key, marker: markerOf(key, size, mtimeMs), sha256, status, detail, extendableBytes };
  }

  private row(key: string): LedgerRow | undefined {
    const { prefixes, read } = this.lazy;
    return prefixes.some((prefix) => key.startsWith(prefix)) ? read(key) : this.rows.get(key);
  }
}

/** A source whose every transcript the ledger knew, unchanged, when it had this fingerprint. */
export interface SettledSource {
  readonly fingerprint: string;
  /** How many transcripts were in it then (a database's sessions; a folder's archives). */
  readonly transcripts: number;
}

/** The ledger's schema version (`PRAGMA user_version`); older ledgers are upgraded on open. */
const LEDGER_VERSION = 4;

/** Sources settled (`settle`), by the prefix of their transcripts' keys (`settled-source.ts`). */
const SETTLED_SOURCES_TABLE = `
  CREATE TABLE IF NOT EXISTS settled_sources (
    prefix TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, transcripts INTEGER NOT NULL, at TEXT NOT NULL
  ) WITHOUT ROWID;`;

/**
 * What the worker has already done with each file, so `keep` mode (files stay where OpenClaw
 * reads them) never uploads the same content twice and a run over thousands of unchanged files
 * reads none of them: a file whose size and mtime match its entry is skipped without opening it.
 * A rejected file is remembered too, and tried again only once it changes.
 */

export class UploadLedger {
  private readonly db: DatabaseSync;
  private readonly upsert;

  /**
   * Opens the ledger at `path`. One that is damaged (not a database, a corrupt page) is moved
   * aside and a new one started, with a warning: the files it remembered are sent again and
   * answered "already stored", so nothing is duplicated, while a damaged ledger kept as it is
   * would fail every run.
   */
  static open(path: string, warn: (message: string) => void): UploadLedger {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      return new UploadLedger(path);
    } catch (caught) {
      const reason = coerceError(caught).message;
      if (!/not a database|malformed|corrupt/i.test(reason)) throw caught;
      const aside = `${path}.damaged-${new Date().toISOString().replaceAll(':', '-')}`;
      for (const suffix of ['', '-wal', '-shm'])
        if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
      warn(
        `The upload ledger ${path} is damaged (${reason}); moved it to ${aside} and started a new one. ` +
          'Transcripts it remembered are sent again and answered "already stored": nothing is stored twice.',
      );
      return new UploadLedger(path);
    }
  }

  private constructor(path: string) {
    this.db = new DatabaseSync(path);
    try {
      this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      const check = this.db.prepare('PRAGMA quick_check').get() as { quick_check?: unknown };
      if (check.quick_check !== 'ok') throw new Error(`corrupt: ${String(check.quick_check)}`);
      const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'files'").get();
      if (exists === undefined) {
        // The marker columns hold a file's size and mtime, or a session's event count and last seq.
        this.db.exec(`
          CREATE TABLE files (
            key TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms REAL NOT NULL, sha256 TEXT NOT NULL,
            status TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
            extendable_bytes INTEGER NOT NULL DEFAULT 0
          ) WITHOUT ROWID;
          ${SETTLED_SOURCES_TABLE}
          PRAGMA user_version = ${String(LEDGER_VERSION)};
        `);
      } else {
        this.migrate();
      }
    } catch (caught) {
      this.db.close();
      throw caught;
    }
    this.upsert = this.db.prepare(
      `INSERT INTO files (key, size, mtime_ms, sha256, status, detail, at, extendable_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256,
         status = excluded.status, detail = excluded.detail, at = excluded.at, extendable_bytes = excluded.extendable_bytes`,
    );
  }

  /**
   * Version 1: only a rejection of the content is final. Earlier versions recorded any 4xx (a
   * wrong key, a wrong URL, missing storage) as a rejection, and those files were never sent
   * again: forget such entries, so the next run uploads them.
   */
  private migrate(): void {
    const { user_version: version } = this.db.prepare('PRAGMA user_version').get() as {
      user_version: number;
    };
    if (version < 1) this.healRejections();
    // Version 2: the key column is named for what it holds (paths and database session keys).
    if (version < 2)
      this.db.exec('ALTER TABLE files RENAME COLUMN path TO key; PRAGMA user_version = 2');
    // Version 3: what an increment can extend. Entries from before are sent whole once more.
    if (version < 3)
      this.db.exec(
        'ALTER TABLE files ADD COLUMN extendable_bytes INTEGER NOT NULL DEFAULT 0; PRAGMA user_version = 3',
      );
    // Version 4: settled sources.
    if (version < 4) this.db.exec(`${SETTLED_SOURCES_TABLE} PRAGMA user_version = 4;`);
  }

  private healRejections(): void {
    const rejected = this.db
      .prepare("SELECT path, detail FROM files WHERE status = 'rejected'")
      .all() as { path: string; detail: string }[];
    const forget = this.db.prepare('DELETE FROM files WHERE path = ?');
    this.db.exec('BEGIN');
    for (const { path, detail } of rejected) {
      const answer = /\(HTTP (\d{3}) ([a-z0-9_]+)\)$/.exec(detail);
      // Rejected before reaching the API (an id the API would refuse): content, kept.
      if (answer === null) continue;
      if (!isContentRejection(Number(answer[1]))) forget.run(path);
    }
    this.db.exec('PRAGMA user_version = 1; COMMIT');
  }

  /**
   * Every entry, read once per run: one query instead of one per file. Rows are kept as SQLite
   * returns them (arrays) and an entry is built only when asked for: an idle run over 100,000
   * archives only asks whether each is known (bench B4). Entries under `lazyPrefixes` (settled
   * sources, whose entries are rarely asked for) are not read now, but one by one when asked.
   */
  loadAll(lazyPrefixes: readonly string[] = []): LedgerIndex {
    const columns = 'key, size, mtime_ms, sha256, status, detail, extendable_bytes';
    const rows = new Map<string, LedgerRow>();
    // The key ranges between the lazy prefixes', each read in the primary key's order: the rows
    // under a prefix are never visited.
    for (const [from, to] of rangesBetween(lazyPrefixes)) {
      const bounds = [
        ...(from === undefined ? [] : ['key >= ?']),
        ...(to === undefined ? [] : ['key < ?']),
      ];
      const query = this.db.prepare(
        `SELECT ${columns} FROM files${bounds.length === 0 ? '' : ` WHERE ${bounds.join(' AND ')}`}`,
      );
      query.setReturnArrays(true);
      const values = [from, to].filter((bound) => bound !== undefined);
      // `all` rather than `iterate`: one call into SQLite instead of one per row.
      for (const row of query.all(...values) as unknown as LedgerRow[]) rows.set(row[0], row);
    }
    const one = this.db.prepare(`SELECT ${columns} FROM files WHERE key = ?`);
    one.setReturnArrays(true);
    return new LedgerIndex(rows, {
      prefixes: lazyPrefixes,
      read: (key) => one.get(key) as unknown as LedgerRow | undefined,
    });
  }

  /** The source under `prefix` as last settled, if it was. */
  settled(prefix: string): SettledSource | undefined {
    const row = this.db
      .prepare('SELECT fingerprint, transcripts FROM settled_sources WHERE prefix = ?')
      .get(prefix) as SettledSource | undefined;
    return row === undefined ? undefined : { ...row };
  }

  /** Every transcript under `prefix` is known and unchanged, seen with `fingerprint`. */
  settle(prefix: string, source: SettledSource): void {
    this.db
      .prepare(
        `INSERT INTO settled_sources (prefix, fingerprint, transcripts, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (prefix) DO UPDATE SET fingerprint = excluded.fingerprint,
           transcripts = excluded.transcripts, at = excluded.at`,
      )
      .run(prefix, source.fingerprint, source.transcripts, new Date().toISOString());
  }

  record(entry: LedgerEntry): void {
    const { marker } = entry;
    this.upsert.run(
      entry.key,
      marker.kind === 'file' ? marker.size : marker.eventCount,
      marker.kind === 'file' ? marker.mtimeMs : marker.lastSeq,
      entry.sha256,
      entry.status,
      entry.detail,
      new Date().toISOString(),
      entry.extendableBytes ?? 0,
    );
  }

  /**
   * An entry leaves the ledger (its file was moved away): a source settled while it was known no
   * longer vouches for what is in it.
   */
  forget(key: string): void {
    this.db.prepare('DELETE FROM files WHERE key = ?').run(key);
    this.db
      .prepare('DELETE FROM settled_sources WHERE substr(?, 1, length(prefix)) = prefix')
      .run(key);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/**
 * The key ranges outside every prefix, as [from, to) (`undefined`: unbounded), in order. A key
 * under a prefix is at least the prefix and below it followed by U+10FFFF (TEXT compares as
 * UTF-8 bytes; no character's encoding is above that one's).
 */
export function rangesBetween(
  prefixes: readonly string[],
): [from: string | undefined, to: string | undefined][] {
  const under = [...prefixes]
    .sort()
    .map((prefix): [string, string] => [prefix, `${prefix}\u{10ffff}`]);
  const ranges: [string | undefined, string | undefined][] = [];
  let from: string | undefined;
  for (const [start, end] of under) {
    if (from === undefined || start > from) ranges.push([from, start]);
    if (from === undefined || end > from) from = end;
  }
  ranges.push([from, undefined]);
  return ranges;
}

/** The two marker columns read back: a database session's key says which kind they hold. */
function markerOf(key: string, first: number, second: number): ChangeMarker {
  return key.startsWith('sqlite:')
    ? { kind: 'database', eventCount: first, lastSeq: second }
    : { kind: 'file', size: first, mtimeMs: second };
}

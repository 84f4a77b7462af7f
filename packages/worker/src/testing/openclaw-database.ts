import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';

/**
 * Builds an OpenClaw agent database with the 2026.9.6 tables and columns (OPENCLAW.md, "Era C"),
 * written the way OpenClaw writes it: WAL mode, one row per transcript line, large lines zstd-
 * compressed in `event_zstd` with `event_json` left empty. For tests and benchmarks only.
 */
export class OpenClawDatabase {
  readonly db: DatabaseSync;

  /** A connection to a database built before, as OpenClaw opens it again after a restart. */
  static reopen(path: string): OpenClawDatabase {
    return new OpenClawDatabase(path, { existing: true });
  }

  constructor(
    path: string,
    options: { schemaVersion?: number | null; omitColumn?: string; existing?: boolean } = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 0;');
    if (options.existing) return;
    const column = (name: string, type: string) =>
      options.omitColumn === name ? '' : `${name} ${type},`;
    this.db.exec(`
      CREATE TABLE schema_meta (schema_version INTEGER NOT NULL);
      CREATE TABLE transcript_events (
        session_id TEXT NOT NULL, seq INTEGER NOT NULL, ${column('event_json', 'TEXT')} created_at INTEGER NOT NULL,
        ${column('event_zstd', 'BLOB')} event_utf8_bytes INTEGER, navigation_json TEXT,
        PRIMARY KEY (session_id, seq)
      );
      CREATE TABLE session_windows (
        session_id TEXT PRIMARY KEY, session_key TEXT, ${column('previous_session_id', 'TEXT')} status TEXT,
        started_at INTEGER, ended_at INTEGER, model_provider TEXT, model TEXT, channel TEXT, chat_type TEXT
      );
      CREATE TABLE session_transcript_archives (
        session_id TEXT, generation TEXT, session_key TEXT, reason TEXT, encoding TEXT,
        archive_blob BLOB, archive_sha256 TEXT, archive_name TEXT
      );
    `);
    if (options.schemaVersion !== null)
      this.db
        .prepare('INSERT INTO schema_meta (schema_version) VALUES (?)')
        .run(options.schemaVersion ?? 23);
  }

  /** Appends transcript lines; lines longer than `zstdOver` characters go to `event_zstd`. */
  append(
    sessionId: string,
    lines: readonly string[],
    options: { createdAt?: number; zstdOver?: number } = {},
  ): void {
    const next = (
      this.db
        .prepare(
          'SELECT COALESCE(MAX(seq), -1) + 1 AS seq FROM transcript_events WHERE session_id = ?',
        )
        .get(sessionId) as { seq: number }
    ).seq;
    const insert = this.db.prepare(
      'INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes) VALUES (?, ?, ?, ?, ?, ?)',
    );
    lines.forEach((line, i) => {
      const compress = line.length > (options.zstdOver ?? Number.POSITIVE_INFINITY);
      insert.run(
        sessionId,
        next + i,
        compress ? '' : line,
        options.createdAt ?? Date.now(),
        compress ? zstdCompressSync(line) : null,
        Buffer.byteLength(line),
      );
    });
  }

  window(row: {
    sessionId: string;
    sessionKey?: string;
    previousSessionId?: string;
    status?: string | null;
    startedAt?: number;
    endedAt?: number;
    provider?: string;
    model?: string;
    channel?: string;
    chatType?: string;
  }): void {
    this.db
      .prepare(
        `INSERT INTO session_windows (session_id, session_key, previous_session_id, status, started_at, ended_at, model_provider, model, channel, chat_type)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (session_id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at`,
      )
      .run(
        row.sessionId,
        row.sessionKey ?? null,
        row.previousSessionId ?? null,
        row.status ?? null,
        row.startedAt ?? null,
        row.endedAt ?? null,
        row.provider ?? null,
        row.model ?? null,
        row.channel ?? null,
        row.chatType ?? null,
      );
  }

  /** The session's transcript exactly as OpenClaw writes it into a delete archive. */
  transcript(sessionId: string): string {
    const rows = this.db
      .prepare(
        'SELECT event_json, event_zstd FROM transcript_events WHERE session_id = ? ORDER BY seq',
      )
      .all(sessionId) as {
      event_json: string;
      event_zstd: Uint8Array | null;
    }[];
    return (
      rows
        .map(
          (r) =>
            r.event_json ||
            (r.event_zstd ? Buffer.from(zstdDecompressSync(r.event_zstd)).toString('utf8') : ''),
        )
        .join('\n') + '\n'
    );
  }

  /** Deletes a session as OpenClaw does: archive row, then the live rows go. Returns the archive bytes (zstd). */
  deleteSession(sessionId: string, generation: string): Buffer {
    const text = this.transcript(sessionId);
    const blob = zstdCompressSync(text);
    const key = this.db
      .prepare('SELECT session_key FROM session_windows WHERE session_id = ?')
      .get(sessionId) as { session_key: string | null } | undefined;
    this.db
      .prepare(
        'INSERT INTO session_transcript_archives (session_id, generation, session_key, reason, encoding, archive_blob) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(sessionId, generation, key?.session_key ?? null, 'delete', 'zstd', blob);
    this.db.prepare('DELETE FROM transcript_events WHERE session_id = ?').run(sessionId);
    this.db.prepare('DELETE FROM session_windows WHERE session_id = ?').run(sessionId);
    return blob;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

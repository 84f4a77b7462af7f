import { open } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { zstdDecompressSync } from 'node:zlib';

/** Schema versions read and tested (OPENCLAW.md, "Era C": 23 in OpenClaw 2026.9.6). */
export const KNOWN_SCHEMA_VERSIONS: ReadonlySet<number> = new Set([23]);

const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  transcript_events: ['session_id', 'seq', 'event_json', 'event_zstd', 'created_at'],
  session_windows: [
    'session_id',
    'session_key',
    'previous_session_id',
    'status',
    'started_at',
    'ended_at',
    'model_provider',
    'model',
    'channel',
    'chat_type',
  ],
};

const BUSY_RETRIES = 5;

/** Why an agent's database cannot be read; the message names what is missing. */
export class DatabaseSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseSchemaError';
  }
}

export interface DatabaseSession {
  readonly sessionId: string;
  readonly eventCount: number;
  readonly lastSeq: number;
  /** The newest event's `created_at`, else the run's `ended_at`/`started_at`, in ms. */
  readonly lastActivityMs: number | undefined;
  /** Another session's `previous_session_id` names this one: an idle or daily rollover ended it. */
  readonly superseded: boolean;
  readonly status: string | null;
  /** What the database knows and a transcript file does not (sent along as session context). */
  readonly context: Readonly<Record<string, string>>;
}

/**
 * An OpenClaw agent database (`agents/<id>/agent/openclaw-agent.sqlite`), opened read-only
 * beside a running OpenClaw: never a write lock, never a change to the database or its WAL.
 * In WAL mode a reader sees a consistent snapshot and does not block the writer. `SQLITE_BUSY`
 * (a checkpoint in progress) is retried.
 */
export class AgentDatabase {
  private readonly db: DatabaseSync;
  readonly schemaVersion: number | undefined;
  /** One read transaction at a time on this connection (uploads run side by side). */
  private reads: Promise<unknown> = Promise.resolve();

  private constructor(db: DatabaseSync, schemaVersion: number | undefined) {
    this.db = db;
    this.schemaVersion = schemaVersion;
  }

  /** Opens and checks the schema; `DatabaseSchemaError` says what is missing or unknown. */
  static open(path: string, options: { allowUnknownSchema: boolean }): AgentDatabase {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      db.exec('PRAGMA busy_timeout = 2000');
      const version = readSchemaVersion(db);
      if (version === undefined || !KNOWN_SCHEMA_VERSIONS.has(version)) {
        if (!options.allowUnknownSchema) {
          throw new DatabaseSchemaError(
            `schema version ${version === undefined ? '(none found)' : String(version)} is not one this worker knows (${[...KNOWN_SCHEMA_VERSIONS].join(', ')}); update Nexus, or set "allowUnknownSchema": true in the job config to read it anyway`,
          );
        }
      }
      for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
        const present = new Set(
          (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map(
            (c) => c.name,
          ),
        );
        if (present.size === 0) throw new DatabaseSchemaError(`table ${table} is missing`);
        const missing = columns.filter((c) => !present.has(c));
        if (missing.length > 0)
          throw new DatabaseSchemaError(`table ${table} has no column ${missing.join(', ')}`);
      }
      return new AgentDatabase(db, version);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * What the database says of its delete archives (`session_transcript_archives`), by archive
   * file name and by the generation in that name: the session key and the reason, which the
   * archive file itself does not hold. Empty when the table or its columns are missing.
   */
  archiveContexts(): Map<string, Readonly<Record<string, string>>> {
    const contexts = new Map<string, Readonly<Record<string, string>>>();
    const columns = new Set(
      (
        this.db.prepare('PRAGMA table_info(session_transcript_archives)').all() as {
          name: string;
        }[]
      ).map((c) => c.name),
    );
    if (!columns.has('generation') || !columns.has('session_key') || !columns.has('reason'))
      return contexts;
    const name = columns.has('archive_name') ? 'archive_name' : 'NULL';
    const rows = withBusyRetry(
      () =>
        this.db
          .prepare(
            `SELECT generation, session_key AS sessionKey, reason, ${name} AS archiveName FROM session_transcript_archives`,
          )
          .all() as Record<string, unknown>[],
    );
    for (const row of rows) {
      const context: Record<string, string> = {};
      if (typeof row['sessionKey'] === 'string' && row['sessionKey'] !== '')
        context['sessionKey'] = row['sessionKey'];
      if (typeof row['reason'] === 'string' && row['reason'] !== '')
        context['archiveReason'] = row['reason'];
      if (typeof row['generation'] === 'string')
        contexts.set(`generation:${row['generation']}`, context);
      if (typeof row['archiveName'] === 'string')
        contexts.set(`name:${row['archiveName']}`, context);
    }
    return contexts;
  }

  /**
   * Every session with events, with its change marker (count and last `seq`). Reads the events'
   * index, not their bodies, so a run over thousands of unchanged sessions stays cheap.
   */
  listSessions(): DatabaseSession[] {
    return withBusyRetry(() => {
      const events = this.db
        .prepare(
          'SELECT session_id AS sessionId, COUNT(*) AS eventCount, MAX(seq) AS lastSeq, MAX(created_at) AS lastCreated FROM transcript_events GROUP BY session_id',
        )
        .all() as {
        sessionId: string;
        eventCount: number;
        lastSeq: number;
        lastCreated: unknown;
      }[];
      const windows = new Map(
        (
          this.db
            .prepare(
              'SELECT session_id, session_key, previous_session_id, status, started_at, ended_at, model_provider, model, channel, chat_type FROM session_windows',
            )
            .all() as Record<string, unknown>[]
        ).map((row) => [String(row['session_id']), row]),
      );
      /** Each superseded session and the session that superseded it. */
      const successors = new Map<string, string>();
      for (const row of windows.values()) {
        if (typeof row['previous_session_id'] === 'string')
          successors.set(row['previous_session_id'], String(row['session_id']));
      }
      return events.map((event) => {
        const window = windows.get(event.sessionId);
        const context: Record<string, string> = {};
        const put = (field: string, column: string) => {
          const value = window?.[column];
          if (typeof value === 'string' && value !== '') context[field] = value;
        };
        put('sessionKey', 'session_key');
        put('channel', 'channel');
        put('chatType', 'chat_type');
        put('provider', 'model_provider');
        put('model', 'model');
        put('status', 'status');
        put('previousSessionId', 'previous_session_id');
        const successor = successors.get(event.sessionId);
        if (successor !== undefined) context['supersededBy'] = successor;
        return {
          sessionId: event.sessionId,
          eventCount: event.eventCount,
          lastSeq: event.lastSeq,
          lastActivityMs:
            toMs(event.lastCreated) ?? toMs(window?.['ended_at']) ?? toMs(window?.['started_at']),
          superseded: successor !== undefined,
          status: typeof window?.['status'] === 'string' ? window['status'] : null,
          context,
        };
      });
    });
  }

  /**
   * Writes one session's transcript to `path`: rows ordered by `seq`, `event_json` or else the
   * zstd-decoded `event_zstd`, joined by `\n` with a final `\n`. These are exactly the bytes
   * OpenClaw writes into the session's delete archive, so both hash the same and the API stores
   * one generation, not two. Read inside one transaction: a consistent snapshot even while
   * OpenClaw appends. Returns the bytes written and the last `seq` included.
   */
  writeTranscript(
    sessionId: string,
    path: string,
  ): Promise<{ bytes: number; lastSeq: number; eventCount: number }> {
    const read = this.reads.then(() => this.readInto(sessionId, path));
    this.reads = read.catch(() => undefined);
    return read;
  }

  private async readInto(
    sessionId: string,
    path: string,
  ): Promise<{ bytes: number; lastSeq: number; eventCount: number }> {
    const file = await open(path, 'wx', 0o600);
    try {
      return await withBusyRetryAsync(async () => {
        await file.truncate(0);
        this.db.exec('BEGIN');
        try {
          const rows = this.db
            .prepare(
              'SELECT seq, event_json, event_zstd FROM transcript_events WHERE session_id = ? ORDER BY seq',
            )
            .iterate(sessionId);
          let bytes = 0;
          let lastSeq = -1;
          let eventCount = 0;
          let position = 0;
          let batch: Buffer[] = [];
          let batchBytes = 0;
          const flush = async () => {
            const chunk = Buffer.concat(batch, batchBytes);
            await file.write(chunk, 0, chunk.length, position);
            position += chunk.length;
            batch = [];
            batchBytes = 0;
          };
          for (const row of rows as Iterable<{
            seq: number;
            event_json: string | null;
            event_zstd: Uint8Array | null;
          }>) {
            const line =
              row.event_json !== null && row.event_json !== ''
                ? Buffer.from(row.event_json, 'utf8')
                : row.event_zstd
                  ? zstdDecompressSync(row.event_zstd)
                  : Buffer.alloc(0);
            batch.push(line, NEWLINE);
            batchBytes += line.length + 1;
            bytes += line.length + 1;
            lastSeq = row.seq;
            eventCount += 1;
            if (batchBytes >= 1 << 20) await flush();
          }
          await flush();
          return { bytes, lastSeq, eventCount };
        } finally {
          this.db.exec('COMMIT');
        }
      });
    } finally {
      await file.close();
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

const NEWLINE = Buffer.from('\n');

function readSchemaVersion(db: DatabaseSync): number | undefined {
  const columns = new Set(
    (db.prepare('PRAGMA table_info(schema_meta)').all() as { name: string }[]).map((c) => c.name),
  );
  if (columns.has('schema_version')) {
    const row = db.prepare('SELECT schema_version AS v FROM schema_meta LIMIT 1').get() as
      { v?: unknown } | undefined;
    return typeof row?.v === 'number' ? row.v : Number(row?.v ?? NaN) || undefined;
  }
  if (columns.has('key') && columns.has('value')) {
    const row = db
      .prepare("SELECT value AS v FROM schema_meta WHERE key = 'schema_version'")
      .get() as { v?: unknown } | undefined;
    return Number(row?.v ?? NaN) || undefined;
  }
  return undefined;
}

function toMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value))
    return value < 1e11 ? value * 1000 : value;
  if (typeof value === 'string' && value !== '') {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

function isBusy(error: unknown): boolean {
  return error instanceof Error && /SQLITE_BUSY|database is locked/i.test(error.message);
}

function withBusyRetry<T>(read: () => T): T {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return read();
    } catch (error) {
      if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
    }
  }
}

async function withBusyRetryAsync<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SearchDoc, SearchRole } from './search-docs.ts';
import {
  queuedGenerationOf,
  type IndexedGeneration,
  type PendingGeneration,
  type QueuedGeneration,
  type RebuildProgress,
  type SearchAnswer,
  type SearchFilters,
  type SearchHit,
  type SearchIndex,
  type SearchQueue,
  type SessionRef,
} from './search-index.ts';
import { indexText, type ParsedQuery } from './search-text.ts';

/** The index's file in the data folder. */
export const SEARCH_INDEX_FILE = 'search.sqlite';

/**
 * Matches ranked by relevance per query at most: a query that matches more messages is answered
 * newest first (ranking it would cost tens of milliseconds over a million messages).
 */
export const RANKED = 3_000;
/** A time filter this many months long or shorter is also applied inside the full-text index. */
const MAX_MONTH_TOKENS = 36;
/**
 * 2: CJK characters also indexed one by one; 3: the queue keeps when a generation was queued. A
 * different version is dropped and rebuilt.
 */
const SCHEMA_VERSION = '3';
const ROLE_CODE: Readonly<Record<SearchRole, number>> = { user: 1, assistant: 2, tool: 3 };
const ROLE_OF: readonly (SearchRole | undefined)[] = [undefined, 'user', 'assistant', 'tool'];

/**
 * The search index of the embedded backend: SQLite FTS5 in the data folder (`search.sqlite`),
 * derived from storage and rebuilt from it at will. The full-text table is contentless (the
 * messages' text is kept once, in `docs`, for snippets); each row also carries tag tokens (host,
 * agent, session, role, month) so filters narrow the match inside the index. A message already
 * indexed for its session (the same entry in a later generation) is recognised by a 64-bit key
 * and not indexed again.
 */
export class SqliteSearchIndex implements SearchIndex, SearchQueue {
  readonly engine = 'sqlite';
  /** Only this process queues: what it is recording, it knows. */
  readonly shared = false;
  readonly path: string;
  /** Created empty just now (a new data folder, or an index of an older schema dropped). */
  readonly fresh: boolean;
  private readonly db: DatabaseSync;
  private readonly statements: Record<string, StatementSync>;

  private readonly ranked: number;

  /** `ranked`: matches ranked per query at most (`RANKED`; smaller in tests). */
  constructor(path: string, options: { ranked?: number } = {}) {
    this.path = path;
    this.ranked = options.ranked ?? RANKED;
    this.db = new DatabaseSync(path);
    // 64 MB of page cache: the index's merges and the random keys of `seen` need far more than
    // the default 2 MB.
    this.db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536;',
    );
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) STRICT');
    const version = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get();
    this.fresh = version?.['value'] !== SCHEMA_VERSION;
    if (this.fresh) {
      this.db.exec('DROP TABLE IF EXISTS pending');
      this.recreate();
    }
    this.statements = {
      session: this.db.prepare(
        'INSERT INTO sessions (host, agent, session) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET host = host RETURNING sid',
      ),
      generation: this.db.prepare(
        'INSERT INTO generations (sid, sha) VALUES (?, ?) ON CONFLICT DO UPDATE SET sha = sha RETURNING gid, done',
      ),
      done: this.db.prepare('UPDATE generations SET done = 1 WHERE gid = ?'),
      isDone: this.db.prepare(
        'SELECT g.done FROM generations g JOIN sessions s ON s.sid = g.sid WHERE s.host = ? AND s.agent = ? AND s.session = ? AND g.sha = ?',
      ),
      seen: this.db.prepare('INSERT OR IGNORE INTO seen (h) VALUES (?)'),
      doc: this.db.prepare(
        'INSERT INTO docs (gid, line, entry, role, ts, text) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      fts: this.db.prepare('INSERT INTO fts (rowid, body, tags) VALUES (?, ?, ?)'),
      enqueue: this.db.prepare(
        'INSERT INTO pending (hostId, agentId, sessionId, sha256, fromByte, fromLine, queuedAtMs) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      oldest: this.db.prepare('SELECT * FROM pending ORDER BY id LIMIT ?'),
      count: this.db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM pending LIMIT ?)'),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value',
      ),
      dequeue: this.db.prepare('DELETE FROM pending WHERE id = ?'),
      // The count of messages, kept beside them (adds `n`; negative: removes).
      addMessages: this.db.prepare(
        "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'messages'",
      ),
      sessionId: this.db.prepare(
        'SELECT sid FROM sessions WHERE host = ? AND agent = ? AND session = ?',
      ),
      sessionDocs: this.db.prepare(
        'SELECT d.id, d.entry FROM docs d JOIN generations g ON g.gid = d.gid WHERE g.sid = ?',
      ),
      forgetFts: this.db.prepare('DELETE FROM fts WHERE rowid = ?'),
      forgetSeen: this.db.prepare('DELETE FROM seen WHERE h = ?'),
      forgetDoc: this.db.prepare('DELETE FROM docs WHERE id = ?'),
      forgetGenerations: this.db.prepare('DELETE FROM generations WHERE sid = ?'),
      forgetSession: this.db.prepare('DELETE FROM sessions WHERE sid = ?'),
      hit: this.db.prepare(
        'SELECT d.line, d.entry, d.role, d.ts, d.text, g.sha, s.host, s.agent, s.session FROM docs d JOIN generations g ON g.gid = d.gid JOIN sessions s ON s.sid = g.sid WHERE d.id = ?',
      ),
    };
  }

  /** Opened by the constructor: `fresh`. */
  open(): boolean {
    return this.fresh;
  }

  /**
   * Drops every indexed message: an empty index (a rebuild starts here). Generations queued stay
   * queued: an upload may have queued one that a rebuild's listing of storage does not see yet.
   */
  recreate(): void {
    this.db.exec(`
      DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS seen;
      DROP TABLE IF EXISTS generations; DROP TABLE IF EXISTS sessions;
      CREATE TABLE sessions (sid INTEGER PRIMARY KEY, host TEXT NOT NULL, agent TEXT NOT NULL,
        session TEXT NOT NULL, UNIQUE (host, agent, session)) STRICT;
      CREATE TABLE generations (gid INTEGER PRIMARY KEY, sid INTEGER NOT NULL, sha TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0, UNIQUE (sid, sha)) STRICT;
      CREATE TABLE seen (h INTEGER PRIMARY KEY) STRICT;
      CREATE TABLE docs (id INTEGER PRIMARY KEY, gid INTEGER NOT NULL, line INTEGER NOT NULL,
        entry TEXT NOT NULL, role INTEGER NOT NULL, ts INTEGER NOT NULL, text TEXT NOT NULL) STRICT;
      CREATE VIRTUAL TABLE fts USING fts5(body, tags,
        tokenize = 'unicode61 remove_diacritics 2', content = '', contentless_delete = 1);
      CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, hostId TEXT NOT NULL,
        agentId TEXT NOT NULL, sessionId TEXT NOT NULL, sha256 TEXT NOT NULL,
        fromByte INTEGER NOT NULL, fromLine INTEGER NOT NULL, queuedAtMs INTEGER NOT NULL) STRICT;
    `);
    this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT DO UPDATE SET value = excluded.value",
      )
      .run(SCHEMA_VERSION);
    this.db.exec(
      "INSERT INTO meta (key, value) VALUES ('messages', '0') ON CONFLICT DO UPDATE SET value = '0'",
    );
  }

  /** Remembers a generation to index (durably: it survives a restart). */
  enqueue(item: PendingGeneration): void {
    this.statement('enqueue').run(
      item.hostId,
      item.agentId,
      item.sessionId,
      item.sha256,
      item.fromByte,
      item.fromLine,
      Date.now(),
    );
  }

  oldest(limit: number): QueuedGeneration[] {
    return this.statement('oldest')
      .all(limit)
      .map((row) => queuedGenerationOf(String(row['id']), row));
  }

  remove(id: string): void {
    this.statement('dequeue').run(Number(id));
  }

  count(cap: number): number {
    return Number(this.statement('count').get(cap)?.['n'] ?? 0);
  }

  rebuildState(): RebuildProgress | undefined {
    const value = this.statement('getMeta').get('rebuild')?.['value'];
    return typeof value === 'string' ? (JSON.parse(value) as RebuildProgress) : undefined;
  }

  setRebuildState(progress: RebuildProgress): void {
    this.statement('setMeta').run('rebuild', JSON.stringify(progress));
  }

  isIndexed(item: IndexedGeneration): boolean {
    const row = this.statement('isDone').get(
      item.hostId,
      item.agentId,
      item.sessionId,
      item.sha256,
    );
    return row?.['done'] === 1;
  }

  /**
   * Adds a generation's messages (one batch of them), each once per session; `finished` marks
   * the generation indexed. One transaction per call. Returns how many were new.
   */
  add(item: IndexedGeneration, docs: readonly SearchDoc[], finished: boolean): number {
    return this.transaction(() => {
      let added = 0;
      const sid = this.statement('session').get(item.hostId, item.agentId, item.sessionId)?.['sid'];
      const gid = this.statement('generation').get(sid ?? null, item.sha256)?.['gid'];
      const tags = `${tag('h', item.hostId)} ${tag('a', item.agentId)} ${tag('s', item.sessionId)}`;
      for (const doc of docs) {
        if (this.statement('seen').run(keyOf(item, doc.entry)).changes === 0) continue;
        const id = this.statement('doc').run(
          gid ?? null,
          doc.line,
          doc.entry,
          ROLE_CODE[doc.role],
          doc.timeMs,
          doc.text,
        ).lastInsertRowid;
        this.statement('fts').run(
          id,
          indexText(doc.text),
          `${tags} r${doc.role} ${doc.timeMs > 0 ? monthTag(doc.timeMs) : ''}`,
        );
        added += 1;
      }
      if (finished) this.statement('done').run(gid ?? null);
      this.statement('addMessages').run(added);
      return added;
    });
  }

  /** The best `limit` matches of `query` within `filters`, best first. */
  search(query: ParsedQuery, filters: SearchFilters, limit: number): SearchAnswer {
    const match = matchExpression(query, filters);
    const fromMs = filters.fromMs ?? Number.MIN_SAFE_INTEGER;
    const toMs = filters.toMs ?? Number.MAX_SAFE_INTEGER;
    const timed = filters.fromMs !== undefined || filters.toMs !== undefined;
    const from = timed
      ? 'FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ? AND d.ts >= ? AND d.ts < ?'
      : 'FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ?';
    const args = timed ? [match, fromMs, toMs] : [match];
    // More than `ranked` matches? Read backwards from the newest, which FTS5 does without
    // reading the whole doclist (0.2 ms for a word in 370,000 of 500,000 messages).
    const capped =
      this.db
        .prepare(`SELECT fts.rowid ${from} ORDER BY fts.rowid DESC LIMIT 1 OFFSET ?`)
        .get(...args, this.ranked) !== undefined;
    // bm25 needs the number of messages holding each term, which FTS5 counts by reading the
    // term's whole doclist (15 to 30 ms for a word in most messages): a word that common is shown
    // newest first instead; the others are ranked, all their matches. bm25() by name, not
    // `ORDER BY rank`, which ranks every match whatever else the query says.
    const rows = this.db
      .prepare(
        `SELECT d.id AS id ${from} ORDER BY ${capped ? 'fts.rowid DESC' : 'bm25(fts, 1.0, 0.0)'} LIMIT ?`,
      )
      .all(...args, limit);
    const hits = rows.map((row) => {
      const hit = this.statement('hit').get(row['id'] ?? null);
      return {
        hostId: String(hit?.['host']),
        agentId: String(hit?.['agent']),
        sessionId: String(hit?.['session']),
        sha256: String(hit?.['sha']),
        entry: String(hit?.['entry']),
        line: Number(hit?.['line']),
        role: ROLE_OF[Number(hit?.['role'])] ?? 'user',
        timeMs: Number(hit?.['ts']),
        text: String(hit?.['text']),
      } satisfies SearchHit;
    });
    return { hits, capped };
  }

  removeSession(session: SessionRef): number {
    return this.transaction(() => {
      let removed = 0;
      const sid = this.statement('sessionId').get(
        session.hostId,
        session.agentId,
        session.sessionId,
      )?.['sid'];
      if (sid !== undefined && sid !== null) {
        for (const row of this.statement('sessionDocs').all(sid)) {
          this.statement('forgetFts').run(row['id'] ?? null);
          this.statement('forgetSeen').run(keyOf(session, String(row['entry'])));
          this.statement('forgetDoc').run(row['id'] ?? null);
          removed += 1;
        }
        this.statement('forgetGenerations').run(sid);
        this.statement('forgetSession').run(sid);
        this.statement('addMessages').run(-removed);
      }
      return removed;
    });
  }

  /** `run` in one transaction: all of its writes, or none. */
  private transaction<T>(run: () => T): T {
    this.db.exec('BEGIN');
    try {
      const result = run();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Messages indexed, and the files' size. */
  stats(): { messages: number; bytes: number } {
    const count = (sql: string) => Number(this.db.prepare(sql).get()?.['n'] ?? 0);
    let bytes = 0;
    for (const suffix of ['', '-wal'])
      try {
        bytes += statSync(`${this.path}${suffix}`).size;
      } catch {
        // no such file (an in-memory index, or no WAL yet)
      }
    return {
      // Kept as a count beside the rows: `count(*)` would read every page of the text (seconds
      // at a million messages).
      messages: count(
        "SELECT coalesce(CAST(value AS INTEGER), 0) AS n FROM meta WHERE key = 'messages'",
      ),
      bytes,
    };
  }

  /** Merges the index's segments and empties the write-ahead log: smaller, faster to query. */
  optimize(): void {
    this.db.exec("INSERT INTO fts (fts) VALUES ('optimize')");
    this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    this.db.close();
  }

  private statement(name: string): StatementSync {
    const statement = this.statements[name];
    if (statement === undefined) throw new Error(`no statement ${name}`);
    return statement;
  }
}

/** A filter value as one token of the tags column: its kind's letter and the value's hex. */
const tag = (kind: string, value: string): string =>
  `${kind}${Buffer.from(value, 'utf8').toString('hex')}`;

function monthTag(ms: number): string {
  const date = new Date(ms);
  return `m${date.getUTCFullYear()}${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** A 64-bit key of one message of one session: the same entry in any generation, the same key. */
function keyOf(item: SessionRef, entry: string): bigint {
  return createHash('sha256')
    .update(`${item.hostId}\u0000${item.agentId}\u0000${item.sessionId}\u0000${entry}`)
    .digest()
    .readBigInt64BE(0);
}

/** The query on the messages' text, and each filter on the tags. */
function matchExpression(query: ParsedQuery, filters: SearchFilters): string {
  const parts = [`body : (${query.match})`];
  const any = (tokens: readonly string[]) => `tags : (${tokens.join(' OR ')})`;
  if (filters.hosts !== undefined) parts.push(any(filters.hosts.map((host) => tag('h', host))));
  if (filters.agentId !== undefined) parts.push(any([tag('a', filters.agentId)]));
  if (filters.sessionId !== undefined) parts.push(any([tag('s', filters.sessionId)]));
  if (filters.roles.length < 3) parts.push(any(filters.roles.map((role) => `r${role}`)));
  const months = monthsBetween(filters.fromMs, filters.toMs);
  if (months !== undefined) parts.push(any(months));
  return parts.join(' AND ');
}

/** The month tags of a time range, when it is short enough to filter in the index. */
function monthsBetween(fromMs: number | undefined, toMs: number | undefined): string[] | undefined {
  if (fromMs === undefined || toMs === undefined || toMs <= fromMs) return undefined;
  const months: string[] = [];
  const at = new Date(fromMs);
  let year = at.getUTCFullYear();
  let month = at.getUTCMonth();
  for (;;) {
    const start = Date.UTC(year, month, 1);
    if (start >= toMs) break;
    months.push(`m${year}${String(month + 1).padStart(2, '0')}`);
    if (months.length > MAX_MONTH_TOKENS) return undefined;
    month += 1;
    if (month === 12) {
      month = 0;
      year += 1;
    }
  }
  return months;
}

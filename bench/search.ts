import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pino from 'pino';
import {
  SearchIndexer,
  SqliteSearchIndex,
  openEmbeddedStorage,
  parseQuery,
  snippetOf,
  type SearchDoc,
  type SearchFilters,
} from '@nexus/api';
import { API_KEY, testApp } from '@nexus/api/testing';
import { MB, envNumber, mb, type BenchContext } from './context.ts';
import { corpus, seeded, transcriptSizes, writeSessionsFolder } from './data.ts';
import { runNexus } from './upload-runs.ts';
import { rssOf } from './rss.ts';

const HOSTS = ['laptop', 'server'];
const AGENTS = ['main', 'work', 'family', 'ops', 'research'];
const PER_SESSION = 100;
const BATCH = 500;
const DAY = 86_400_000;
const START_MS = Date.parse('2026-01-01T00:00:00Z');

const pct = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

/**
 * B6: the search index of the embedded backend. 1,000,000 messages (40% user, 40% assistant, 20%
 * tool; log-normal lengths around 120, 600 and 1,500 characters; 10% Chinese) added as the
 * indexer adds them, 500 to a transaction, against the same rows written to a plain SQLite table
 * (the floor: storing the text at all). Then queries (common, rare, CJK, phrase, filtered) timed
 * with their snippets, against a `LIKE` scan of the same rows (what search costs without an index).
 */
export async function benchSearch(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;
  const total = envNumber('B6_MESSAGES', quick ? 50_000 : 1_000_000, 'positive');
  const { words, cjkWords, text } = corpus();
  const index = new SqliteSearchIndex(join(root, 'search.sqlite'));
  const plain = new DatabaseSync(join(root, 'plain.sqlite'));
  plain.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  plain.exec(
    'CREATE TABLE docs (id INTEGER PRIMARY KEY, session TEXT, entry TEXT, role TEXT, ts INTEGER, text TEXT)',
  );
  const insertPlain = plain.prepare(
    'INSERT INTO docs (session, entry, role, ts, text) VALUES (?, ?, ?, ?, ?)',
  );

  const random = seeded(99);
  let indexMs = 0;
  let plainMs = 0;
  let chars = 0;
  let cjkMessages = 0;
  const rssBefore = await rssOf(process.pid);
  log(`B6: indexing ${total.toLocaleString('en')} messages...`);
  for (let start = 0; start < total; start += BATCH) {
    const session = Math.floor(start / PER_SESSION);
    const scope = {
      hostId: HOSTS[session % HOSTS.length] ?? 'laptop',
      agentId: AGENTS[Math.floor(session / HOSTS.length) % AGENTS.length] ?? 'main',
    };
    // A batch is the messages of five sessions (as a rebuild adds them): one call per session.
    const sessions = new Map<number, SearchDoc[]>();
    for (let i = start; i < Math.min(total, start + BATCH); i += 1) {
      const role: SearchDoc['role'] =
        random() < 0.4 ? 'user' : random() < 0.67 ? 'assistant' : 'tool';
      const body = text(role, random);
      chars += body.length;
      if (/[\u4e00-\u9fff]/.test(body.slice(0, 2))) cjkMessages += 1;
      const doc = {
        entry: `m${i}`,
        line: i % PER_SESSION,
        role,
        timeMs: START_MS + Math.floor((i / total) * 300) * DAY + (i % 86_400) * 1000,
        text: body,
      };
      const key = Math.floor(i / PER_SESSION);
      sessions.set(key, [...(sessions.get(key) ?? []), doc]);
    }
    for (const [key, docs] of sessions) {
      const item = {
        hostId: HOSTS[key % HOSTS.length] ?? scope.hostId,
        agentId: AGENTS[Math.floor(key / HOSTS.length) % AGENTS.length] ?? scope.agentId,
        sessionId: `session-${key}`,
        sha256: 'a'.repeat(64),
      };
      let t = performance.now();
      index.add(item, docs, true);
      indexMs += performance.now() - t;
      t = performance.now();
      plain.exec('BEGIN');
      for (const doc of docs)
        insertPlain.run(item.sessionId, doc.entry, doc.role, doc.timeMs, doc.text);
      plain.exec('COMMIT');
      plainMs += performance.now() - t;
    }
    if (start % 100_000 === 0 && start > 0)
      log(`B6: ${start.toLocaleString('en')} messages indexed`);
  }
  const t = performance.now();
  index.optimize();
  const optimizeMs = performance.now() - t;
  plain.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const rssAfter = await rssOf(process.pid);
  const size = index.stats().bytes;
  const plainSize =
    (plain
      .prepare('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()')
      .get()?.['n'] as number | undefined) ?? 0;
  const rate = total / (indexMs / 1000);
  const plainRate = total / (plainMs / 1000);

  log('B6: queries...');
  const pick = (from: readonly string[], lo: number, hi: number, r: () => number) =>
    from[lo + Math.floor(r() * (hi - lo))] ?? 'the';
  const qr = seeded(5);
  const runs = quick ? 30 : 200;
  const sets: {
    name: string;
    query: () => { q: string; filters?: Partial<SearchFilters> };
    goal: boolean;
  }[] = [
    { name: 'common word', query: () => ({ q: pick(words, 0, 10, qr) }), goal: true },
    { name: 'rare word', query: () => ({ q: pick(words, 10_000, 40_000, qr) }), goal: true },
    { name: 'CJK two characters', query: () => ({ q: pick(cjkWords, 0, 50, qr) }), goal: true },
    {
      name: 'CJK one character',
      query: () => ({ q: String.fromCodePoint(0x4e00 + Math.floor(qr() * 2500)) }),
      goal: true,
    },
    {
      name: 'phrase of two words',
      query: () => ({ q: `"${pick(words, 0, 30, qr)} ${pick(words, 0, 30, qr)}"` }),
      goal: false,
    },
    {
      name: 'prefix',
      query: () => ({ q: `${pick(words, 100, 1000, qr).slice(0, 4)}*` }),
      goal: false,
    },
    {
      name: 'common word, one host, 30 days',
      query: () => ({
        q: pick(words, 0, 10, qr),
        filters: { hosts: ['server'], fromMs: START_MS + 100 * DAY, toMs: START_MS + 130 * DAY },
      }),
      goal: false,
    },
  ];
  const results: Record<string, { p50: number; p99: number; hits: number }> = {};
  for (const set of sets) {
    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < runs; i += 1) {
      const { q, filters } = set.query();
      const started = performance.now();
      const query = parseQuery(q);
      const answer = index.search(query, { roles: ['user', 'assistant', 'tool'], ...filters }, 20);
      for (const hit of answer.hits) snippetOf(hit.text, query.terms);
      times.push(performance.now() - started);
      hits += answer.hits.length;
    }
    times.sort((a, b) => a - b);
    results[set.name] = { p50: pct(times, 0.5), p99: pct(times, 0.99), hits: hits / runs };
  }
  // The same queries through the HTTP route (`GET /v1/search`, in process): parsing, the key's
  // scope, the pending count, masking, snippets and the JSON answer on top of the index.
  log('B6: the same queries through GET /v1/search...');
  const storage = await openEmbeddedStorage(join(root, 'b6-route-storage'));
  const indexer = new SearchIndexer({
    storage,
    index,
    queue: index,
    logger: pino({ level: 'silent' }),
  });
  const app = testApp(storage, { search: indexer });
  const routeResults: Record<string, { p50: number; p99: number }> = {};
  for (const set of sets.filter((s) => s.goal)) {
    const times: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const { q } = set.query();
      const started = performance.now();
      const response = await app.request(`/v1/search?tools=1&q=${encodeURIComponent(q)}`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      await response.json();
      times.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`GET /v1/search answered ${response.status}`);
    }
    times.sort((a, b) => a - b);
    routeResults[set.name] = { p50: pct(times, 0.5), p99: pct(times, 0.99) };
  }
  await storage.close();

  // The baseline: the same words found by scanning every row (a few runs: each reads all text),
  // as a search without an index must to rank or count them.
  const likeTimes: number[] = [];
  const like = plain.prepare('SELECT id FROM docs WHERE text LIKE ?');
  for (const q of [pick(words, 10_000, 40_000, qr), pick(words, 10_000, 40_000, qr), '会议']) {
    const started = performance.now();
    like.all(`%${q}%`);
    likeTimes.push(performance.now() - started);
  }
  likeTimes.sort((a, b) => a - b);
  const likeMedian = pct(likeTimes, 0.5);
  index.close();
  plain.close();
  if (process.env['B6_KEEP'] !== undefined)
    (await import('node:fs')).copyFileSync(join(root, 'search.sqlite'), process.env['B6_KEEP']);

  const workload = `${total.toLocaleString('en')} messages, ${mb(chars)} of text, ${((cjkMessages / total) * 100).toFixed(0)}% CJK`;
  rows.push({
    id: 'B6',
    workload,
    figure: 'index build, messages/s',
    nexus: rate.toFixed(0),
    baseline: `${plainRate.toFixed(0)} (plain table)`,
    ratio: `${(rate / plainRate).toFixed(2)}×`,
    goal: '',
    met: '',
  });
  rows.push({
    id: 'B6',
    workload: '',
    figure: 'index size (text kept for snippets) / optimize',
    nexus: `${mb(size)} / ${(optimizeMs / 1000).toFixed(1)} s`,
    baseline: mb(plainSize),
    ratio: `${(size / Math.max(1, plainSize)).toFixed(2)}×`,
    goal: '',
    met: '',
  });
  rows.push({
    id: 'B6',
    workload: '',
    figure: 'RSS growth while indexing',
    nexus: mb(Math.max(0, rssAfter - rssBefore)),
    baseline: '',
    ratio: '',
    goal: '',
    met: '',
  });
  for (const set of sets) {
    const r = results[set.name];
    if (r === undefined) continue;
    rows.push({
      id: 'B6',
      workload: '',
      figure: `query p50 / p99: ${set.name} (${r.hits.toFixed(1)} hits)`,
      nexus: `${ms(r.p50)} / ${ms(r.p99)}`,
      baseline: set.name === 'rare word' ? `${ms(likeMedian)} (a LIKE scan of every row)` : '',
      ratio: set.name === 'rare word' ? `${(likeMedian / r.p50).toFixed(0)}× faster` : '',
      goal: set.goal ? 'p99 < 50 ms' : '',
      met: set.goal ? (r.p99 < 50 ? 'yes' : 'no') : '',
    });
  }
  for (const [name, r] of Object.entries(routeResults))
    rows.push({
      id: 'B6',
      workload: '',
      figure: `GET /v1/search p50 / p99: ${name}`,
      nexus: `${ms(r.p50)} / ${ms(r.p99)}`,
      baseline: '',
      ratio: '',
      goal: 'p99 < 50 ms',
      met: r.p99 < 50 ? 'yes' : 'no',
    });
  raw['B6'] = {
    routeResults,
    total,
    chars,
    cjkMessages,
    indexMs,
    plainMs,
    optimizeMs,
    size,
    plainSize,
    rssBefore,
    rssAfter,
    results,
    likeTimes,
    mb: MB,
  };
}

/**
 * B6, the index's cost to uploads: B1's workload (1,000 transcripts) through the worker into the
 * API with the search index on and off (`NEXUS_SEARCH`), alternating, twice each. The index is
 * fed behind the uploads, so the wall time is the uploads'; its catch-up after them is reported
 * beside it.
 */
export async function benchIndexingCost(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;
  const count = quick ? 100 : 1000;
  const dir = join(root, 'b6-uploads');
  const stateDir = join(dir, 'openclaw');
  const { bytes } = await writeSessionsFolder(stateDir, transcriptSizes(count));
  const on: number[] = [];
  const off: number[] = [];
  const catchUp: number[] = [];
  for (let round = 0; round < 2; round += 1) {
    log(`B6: B1's uploads with the index off (round ${round + 1})...`);
    off.push((await runNexus(ctx, dir, stateDir, count, { NEXUS_SEARCH: 'off' }, 'auto')).wallMs);
    log(`B6: B1's uploads with the index on (round ${round + 1})...`);
    const run = await runNexus(ctx, dir, stateDir, count, {}, 'auto');
    on.push(run.wallMs);
    catchUp.push(run.indexCatchUpMs);
  }
  const costs = on.map((wall, i) => wall / (off[i] ?? wall) - 1);
  const worst = Math.max(...costs);
  const s = (values: readonly number[]) => values.map((v) => (v / 1000).toFixed(2)).join(', ');
  rows.push({
    id: 'B6',
    workload: `B1's ${count} transcripts (${mb(bytes)}), index on vs off`,
    figure: 'upload wall, s (index on / off, two rounds)',
    nexus: s(on),
    baseline: s(off),
    ratio: costs.map((c) => `${c >= 0 ? '+' : ''}${(c * 100).toFixed(0)}%`).join(', '),
    goal: '≤ +15%',
    met: worst <= 0.15 ? 'yes' : 'no',
  });
  rows.push({
    id: 'B6',
    workload: '',
    figure: 'index caught up, s after the uploads',
    nexus: s(catchUp),
    baseline: '',
    ratio: '',
    goal: '',
    met: '',
  });
  raw['B6uploads'] = { count, bytes, on, off, catchUp };
}

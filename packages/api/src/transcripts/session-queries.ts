import {
  NotFoundError,
  sessionStateOf,
  hostScopeRange,
  queryAll,
  scopeKey,
  scopeOfKey,
  sumUsage,
  sumBuckets,
  validateId,
  validateSha256,
  type AgentScope,
  type ByteSource,
  type Generation,
  type SessionRecord,
  type Storage,
  type StoredEntity,
  type UsageBucket,
} from '@nexus/core';
import { loadGenerationRows, readGeneration } from './generation-content.ts';
import { ACTIVITY_ROW, AGENTS_PARTITION, activityRange } from './keys.ts';
import { sessionFromEntity, type GenerationRow } from './rows.ts';

/** Point reads run this many at a time: enough to hide Azure latency, few enough to be polite. */
const READ_CONCURRENCY = 16;

export interface AgentInfo {
  readonly hostId: string;
  readonly agentId: string;
  readonly lastReceivedAt: string;
}

/**
 * Agents with stored sessions, of one host or of all: the `agents` rows, each with its
 * `agentActivity` row (read `READ_CONCURRENCY` at a time). Rows written by 0.1 carry
 * `lastReceivedAt` themselves; an agent whose first upload did not complete has no activity and
 * is left out.
 */
export async function listAgents(storage: Storage, hostId?: string): Promise<AgentInfo[]> {
  const rows: { scope: AgentScope; row: StoredEntity }[] = [];
  const range = hostId === undefined ? {} : hostScopeRange(hostId);
  for await (const row of queryAll(storage.tables, 'agents', AGENTS_PARTITION, range)) {
    const scope = scopeOfKey(row.rowKey);
    if (scope) rows.push({ scope, row });
  }
  return readEach(rows, async ({ scope, row }) => {
    const activity = await storage.tables.get('agentActivity', row.rowKey, ACTIVITY_ROW);
    const last = activity?.properties['lastReceivedAt'] ?? row.properties['lastReceivedAt'];
    return typeof last === 'string' ? { ...scope, lastReceivedAt: last } : undefined;
  });
}

export interface SessionListOptions {
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
  readonly cursor?: string;
}

/** Every session of an agent in a time range, most recently active first, read a page at a time. */
export async function* sessionsOf(
  storage: Storage,
  scope: AgentScope,
  range: Omit<SessionListOptions, 'limit' | 'cursor'> = {},
): AsyncGenerator<SessionListItem> {
  let cursor: string | undefined;
  do {
    const page = await listSessions(storage, scope, {
      ...range,
      limit: 200,
      ...(cursor === undefined ? {} : { cursor }),
    });
    yield* page.sessions;
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/** A session in a list: everything but the per-day usage, which `getSession` returns. */
export type SessionListItem = Omit<SessionRecord, 'usage'>;

/** Sessions of an agent of a host, most recently active first, one page at a time. */
export async function listSessions(
  storage: Storage,
  scope: AgentScope,
  options: SessionListOptions,
): Promise<{ sessions: SessionListItem[]; cursor?: string }> {
  const page = await storage.tables.query('sessionsByTime', scopeKey(scope), {
    ...activityRange(options.fromMs, options.toMs),
    limit: options.limit,
    ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
  });
  const records = await readCurrentSessions(
    storage,
    scope,
    page.items.map((row) => ({
      indexKey: row.rowKey,
      sessionId: String(row.properties['sessionId']),
    })),
  );
  const sessions = records.map(withoutUsage);
  return page.cursor === undefined ? { sessions } : { sessions, cursor: page.cursor };
}

export async function getSession(
  storage: Storage,
  scope: AgentScope,
  sessionIdInput: string,
): Promise<{ session: SessionRecord; generations: Generation[] }> {
  const { session, generations } = await readSession(storage, scope, sessionIdInput);
  return { session, generations };
}

/**
 * A session with its generations (oldest first), and the generation rows they came from, which
 * `openTranscript` takes so a page that shows both reads them once.
 */
export async function readSession(
  storage: Storage,
  scope: AgentScope,
  sessionIdInput: string,
): Promise<{
  session: SessionRecord;
  generations: Generation[];
  rows: ReadonlyMap<string, GenerationRow>;
}> {
  const sessionId = validateId('session id', sessionIdInput);
  const row = await storage.tables.get('sessions', scopeKey(scope), sessionId);
  if (!row)
    throw new NotFoundError(
      `Agent ${scope.agentId} of host ${scope.hostId} has no stored session ${sessionId}.`,
      'session_not_found',
    );
  const rows = await loadGenerationRows(storage, scope, sessionId);
  const generations = [...rows.values()].map((generationRow) => generationRow.generation);
  generations.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  const session = sessionFromEntity(row);
  // Rows written before session states existed get theirs here, from the generations.
  return {
    session: { ...session, state: sessionStateOf(generations, session.context) },
    generations,
    rows,
  };
}

export async function openTranscript(
  storage: Storage,
  scope: AgentScope,
  sessionIdInput: string,
  sha256Input: string,
  options: {
    /** Start at this byte of the transcript. */
    readonly from?: number;
    /** The session's generation rows, when the caller read them already (`readSession`). */
    readonly rows?: ReadonlyMap<string, GenerationRow>;
  } = {},
): Promise<{ generation: Generation; bytes: number; body: ByteSource }> {
  const sessionId = validateId('session id', sessionIdInput);
  const sha256 = validateSha256(sha256Input);
  const rows = options.rows ?? (await loadGenerationRows(storage, scope, sessionId));
  const row = rows.get(sha256);
  if (!row) {
    throw new NotFoundError(
      `Session ${sessionId} of agent ${scope.agentId} on host ${scope.hostId} has no generation ${sha256}; list its generations with GET /v1/hosts/${scope.hostId}/agents/${scope.agentId}/sessions/${sessionId}.`,
      'generation_not_found',
    );
  }
  // The first blob is opened now, so a missing one answers 404/503 before any byte is sent.
  const body = readGeneration(storage, scope, sessionId, sha256, rows, options.from ?? 0)[
    Symbol.asyncIterator
  ]();
  const first = await body.next();
  async function* all(): ByteSource {
    if (!first.done) yield first.value;
    for (let next = await body.next(); !next.done; next = await body.next()) yield next.value;
  }
  return { generation: row.generation, bytes: row.bytes, body: all() };
}

export interface UsageSummary {
  readonly hostId: string;
  readonly agentId: string;
  readonly fromDay: string | null;
  readonly toDay: string | null;
  readonly sessions: number;
  readonly totals: Omit<UsageBucket, 'day' | 'provider' | 'model'>;
  readonly byDay: readonly UsageBucket[];
}

/**
 * Tokens and cost per UTC day and model for days in `[fromDay, toDay]` (inclusive). Only sessions
 * active on or after `fromDay` can hold such days, so the scan stops there; each session's usage
 * already counts every message once across its generations.
 */
export async function usageSummary(
  storage: Storage,
  scope: AgentScope,
  range: DayRange,
): Promise<UsageSummary> {
  const { sessions, byDay } = await scopeUsage(storage, scope, range);
  return {
    ...scope,
    fromDay: range.fromDay ?? null,
    toDay: range.toDay ?? null,
    sessions,
    totals: sumUsage(byDay),
    byDay,
  };
}

export interface DayRange {
  readonly fromDay?: string;
  readonly toDay?: string;
}

/** One scope's usage buckets in a range, and how many sessions hold them. */
export async function scopeUsage(
  storage: Storage,
  scope: AgentScope,
  range: DayRange,
): Promise<{ sessions: number; byDay: UsageBucket[] }> {
  const fromMs = range.fromDay === undefined ? undefined : Date.parse(`${range.fromDay}T00:00:00Z`);
  const refs: { indexKey: string; sessionId: string }[] = [];
  for await (const row of queryAll(
    storage.tables,
    'sessionsByTime',
    scopeKey(scope),
    activityRange(fromMs, undefined),
  ))
    refs.push({ indexKey: row.rowKey, sessionId: String(row.properties['sessionId']) });
  const sessions = await readCurrentSessions(storage, scope, refs);
  const toExclusive = range.toDay === undefined ? undefined : nextDay(range.toDay);
  const inRange = (day: string) =>
    (range.fromDay === undefined || day >= range.fromDay) &&
    (toExclusive === undefined || day < toExclusive);
  const counted = sessions.filter((s) => s.usage.some((bucket) => inRange(bucket.day)));
  const byDay = sumBuckets(counted.flatMap((s) => s.usage.filter((bucket) => inRange(bucket.day))));
  return { sessions: counted.length, byDay };
}

/**
 * Reads the session rows behind index rows, keeping only those the session row still points
 * at: an index row left behind by a crash (or a concurrent refresh) is skipped, not shown twice.
 */
async function readCurrentSessions(
  storage: Storage,
  scope: AgentScope,
  refs: readonly { indexKey: string; sessionId: string }[],
): Promise<SessionRecord[]> {
  const partition = scopeKey(scope);
  return readEach(refs, async (ref) => {
    const row = await storage.tables.get('sessions', partition, ref.sessionId);
    return row?.properties['indexKey'] === ref.indexKey ? sessionFromEntity(row) : undefined;
  });
}

/** `read` for each item, `READ_CONCURRENCY` at a time; the answers in order, without `undefined`. */
export async function readEach<T, R>(
  items: readonly T[],
  read: (item: T) => Promise<R | undefined>,
): Promise<R[]> {
  const results = new Array<R | undefined>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await read(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, lane));
  return results.filter((result): result is R => result !== undefined);
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function withoutUsage(record: SessionRecord): SessionListItem {
  const { usage, ...rest } = record;
  return rest;
}

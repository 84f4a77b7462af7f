import {
  NotFoundError,
  sumUsage,
  sumBuckets,
  validateId,
  validateSha256,
  type BlobInfo,
  type ByteSource,
  type Generation,
  type SessionRecord,
  type Storage,
  type UsageBucket,
} from '@nexus/core';
import { AGENTS_PARTITION, activityRange, generationRowKey, transcriptBlobKey } from './keys.ts';
import { listGenerations } from './refresh-session.ts';
import { generationFromEntity, sessionFromEntity } from './rows.ts';

/** Point reads run this many at a time: enough to hide Azure latency, few enough to be polite. */
const READ_CONCURRENCY = 16;

export interface AgentInfo {
  readonly agentId: string;
  readonly lastReceivedAt: string;
}

export async function listAgents(storage: Storage): Promise<AgentInfo[]> {
  const agents: AgentInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.tables.query(
      'agents',
      AGENTS_PARTITION,
      cursor === undefined ? {} : { cursor },
    );
    for (const row of page.items) {
      agents.push({
        agentId: row.rowKey,
        lastReceivedAt: String(row.properties['lastReceivedAt']),
      });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return agents;
}

export interface SessionListOptions {
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
  readonly cursor?: string;
}

/** A session in a list: everything but the per-day usage, which `getSession` returns. */
export type SessionListItem = Omit<SessionRecord, 'usage'>;

/** Sessions of an agent, most recently active first, one page at a time. */
export async function listSessions(
  storage: Storage,
  agentIdInput: string,
  options: SessionListOptions,
): Promise<{ sessions: SessionListItem[]; cursor?: string }> {
  const agentId = validateId('agent id', agentIdInput);
  const page = await storage.tables.query('sessionsByTime', agentId, {
    ...activityRange(options.fromMs, options.toMs),
    limit: options.limit,
    ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
  });
  const records = await readCurrentSessions(
    storage,
    agentId,
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
  agentIdInput: string,
  sessionIdInput: string,
): Promise<{ session: SessionRecord; generations: Generation[] }> {
  const agentId = validateId('agent id', agentIdInput);
  const sessionId = validateId('session id', sessionIdInput);
  const row = await storage.tables.get('sessions', agentId, sessionId);
  if (!row)
    throw new NotFoundError(
      `Agent ${agentId} has no stored session ${sessionId}.`,
      'session_not_found',
    );
  const generations = await listGenerations(storage, agentId, sessionId);
  generations.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  return { session: sessionFromEntity(row), generations };
}

export async function openTranscript(
  storage: Storage,
  agentIdInput: string,
  sessionIdInput: string,
  sha256Input: string,
): Promise<{ generation: Generation; info: BlobInfo; body: ByteSource }> {
  const agentId = validateId('agent id', agentIdInput);
  const sessionId = validateId('session id', sessionIdInput);
  const sha256 = validateSha256(sha256Input);
  const row = await storage.tables.get('generations', agentId, generationRowKey(sessionId, sha256));
  if (!row) {
    throw new NotFoundError(
      `Session ${agentId}/${sessionId} has no generation ${sha256}; list its generations with GET /v1/agents/${agentId}/sessions/${sessionId}.`,
      'generation_not_found',
    );
  }
  const { info, body } = await storage.blobs.get(transcriptBlobKey(agentId, sessionId, sha256));
  return { generation: generationFromEntity(row), info, body };
}

export interface UsageSummary {
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
  agentIdInput: string,
  range: { fromDay?: string; toDay?: string },
): Promise<UsageSummary> {
  const agentId = validateId('agent id', agentIdInput);
  const fromMs = range.fromDay === undefined ? undefined : Date.parse(`${range.fromDay}T00:00:00Z`);
  const refs: { indexKey: string; sessionId: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.tables.query('sessionsByTime', agentId, {
      ...activityRange(fromMs, undefined),
      ...(cursor === undefined ? {} : { cursor }),
    });
    refs.push(
      ...page.items.map((row) => ({
        indexKey: row.rowKey,
        sessionId: String(row.properties['sessionId']),
      })),
    );
    cursor = page.cursor;
  } while (cursor !== undefined);
  const sessions = await readCurrentSessions(storage, agentId, refs);
  const toExclusive = range.toDay === undefined ? undefined : nextDay(range.toDay);
  const inRange = (day: string) =>
    (range.fromDay === undefined || day >= range.fromDay) &&
    (toExclusive === undefined || day < toExclusive);
  const counted = sessions.filter((s) => s.usage.some((bucket) => inRange(bucket.day)));
  const byDay = sumBuckets(counted.flatMap((s) => s.usage.filter((bucket) => inRange(bucket.day))));
  const totals = sumUsage(byDay);
  return {
    agentId,
    fromDay: range.fromDay ?? null,
    toDay: range.toDay ?? null,
    sessions: counted.length,
    totals,
    byDay,
  };
}

/**
 * Reads the session rows behind index rows, keeping only those the session row still points
 * at: an index row left behind by a crash (or a concurrent refresh) is skipped, not shown twice.
 */
async function readCurrentSessions(
  storage: Storage,
  agentId: string,
  refs: readonly { indexKey: string; sessionId: string }[],
): Promise<SessionRecord[]> {
  const results: (SessionRecord | undefined)[] = new Array<SessionRecord | undefined>(refs.length);
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const index = next++;
      const ref = refs[index];
      if (!ref) continue;
      const row = await storage.tables.get('sessions', agentId, ref.sessionId);
      if (row?.properties['indexKey'] === ref.indexKey) results[index] = sessionFromEntity(row);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, refs.length) }, worker));
  return results.filter((r): r is SessionRecord => r !== undefined);
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function withoutUsage(record: SessionRecord): SessionListItem {
  const { usage, ...rest } = record;
  return rest;
}

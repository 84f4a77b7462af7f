import { sessionStateOf, type GenerationOrigin, type SessionState } from './session-state.ts';
import { sumUsage, type UsageBucket } from './transcript/usage.ts';
import type { TokenTotals, TranscriptSummary } from './transcript/summary.ts';

/**
 * Where a transcript file came from (OPENCLAW.md): the live `<id>.jsonl` (completed or a
 * snapshot), a `.reset.<ts>` or `.deleted.<ts>` archive, or a `.bak.<ts>` saved before a compact.
 */
export const TRANSCRIPT_KINDS = ['live', 'reset', 'deleted', 'bak'] as const;
export type TranscriptKind = (typeof TRANSCRIPT_KINDS)[number];

/** What OpenClaw's database knows about a session that its transcript file does not. */
export interface SessionContext {
  readonly sessionKey?: string;
  readonly channel?: string;
  readonly chatType?: string;
  readonly provider?: string;
  readonly model?: string;
  readonly status?: string;
  readonly previousSessionId?: string;
  /** Why OpenClaw archived the transcript (`session_transcript_archives.reason`, e.g. `delete`). */
  readonly archiveReason?: string;
  /** The session a rollover gave its session key to (its `previous_session_id` names this one). */
  readonly supersededBy?: string;
}

/**
 * One stored transcript of a session: identified by host, agent, session and the SHA-256 of its
 * bytes.
 */
export interface Generation {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly sha256: string;
  readonly kind: TranscriptKind;
  readonly fileName: string;
  readonly receivedAt: string;
  readonly summary: TranscriptSummary;
  readonly context?: SessionContext;
  /** Sent as an increment of this generation: its bytes begin with all of that one's. */
  readonly extends?: string;
  /** The bytes it added to storage: all of them, or for an increment only the new ones. */
  readonly storedBytes?: number;
  /** How it came to be uploaded (absent from workers before 0.4). */
  readonly origin?: GenerationOrigin;
  /** The same content arrived again later as an archive: its kind, file name and arrival. */
  readonly archivedAs?: {
    readonly kind: TranscriptKind;
    readonly fileName: string;
    readonly receivedAt: string;
  };
}

/** A session as the read API shows it: every generation combined, usage counted once. */
export interface SessionRecord {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly generations: number;
  /** The generation whose content reaches furthest in time (ties: the one received last). */
  readonly latestSha256: string;
  readonly kinds: readonly TranscriptKind[];
  readonly firstTimestamp: string | null;
  readonly lastTimestamp: string | null;
  /** The time the session list is ordered by: its last entry, else when it was last received. */
  readonly activityAt: string;
  readonly firstReceivedAt: string;
  readonly lastReceivedAt: string;
  readonly storedBytes: number;
  readonly models: readonly string[];
  readonly providers: readonly string[];
  readonly tokens: TokenTotals;
  readonly costUsd: number;
  readonly context: SessionContext;
  /** What became of the session (absent from rows written before 0.4, until their next upload). */
  readonly state?: SessionState;
  /** The first user message, shortened (`titleOf`); absent from rows written before 0.5. */
  readonly title?: string | null;
  /** User and assistant messages, and tool calls, of its fullest generation (absent before 0.5). */
  readonly messages?: number;
  readonly toolCalls?: number;
  readonly usage: readonly UsageBucket[];
}

/**
 * Builds a session from all of its generations and their usage, already combined so that each
 * message counts once (`UsageCombiner`). Pure.
 */
export function summarizeSession(
  generations: readonly Generation[],
  usage: readonly UsageBucket[],
): SessionRecord {
  const [first] = generations;
  if (!first) throw new Error('summarizeSession needs at least one generation');
  const byAge = [...generations].sort(
    (a, b) =>
      compareNullable(a.summary.lastTimestamp, b.summary.lastTimestamp) ||
      a.receivedAt.localeCompare(b.receivedAt),
  );
  const latest = byAge[byAge.length - 1] ?? first;
  const totals = sumUsage(usage);
  const firstTimestamp = minOf(generations.map((g) => g.summary.firstTimestamp));
  const lastTimestamp = maxOf(generations.map((g) => g.summary.lastTimestamp));
  const received = generations.map((g) => g.receivedAt).sort();
  const lastReceivedAt = received[received.length - 1] ?? first.receivedAt;
  // Context from later generations wins field by field: the database's view only sharpens.
  const context: SessionContext = Object.assign(
    {},
    ...[...generations]
      .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt))
      .map((g) => g.context ?? {}),
  ) as SessionContext;
  return {
    hostId: first.hostId,
    agentId: first.agentId,
    sessionId: first.sessionId,
    generations: generations.length,
    latestSha256: latest.sha256,
    kinds: [...new Set(generations.map((g) => g.kind))].sort(),
    firstTimestamp,
    lastTimestamp,
    activityAt: lastTimestamp ?? lastReceivedAt,
    firstReceivedAt: received[0] ?? first.receivedAt,
    lastReceivedAt,
    storedBytes: generations.reduce((sum, g) => sum + (g.storedBytes ?? g.summary.bytes), 0),
    models: union(generations.map((g) => g.summary.models)),
    providers: union(generations.map((g) => g.summary.providers)),
    tokens: {
      input: totals.input,
      output: totals.output,
      cacheRead: totals.cacheRead,
      cacheWrite: totals.cacheWrite,
      total: totals.totalTokens,
    },
    costUsd: totals.costUsd,
    context,
    state: sessionStateOf(generations, context),
    ...titleField(
      [...generations]
        .sort((a, b) => compareNullable(a.summary.firstTimestamp, b.summary.firstTimestamp))
        .map((g) => g.summary.title),
    ),
    ...sessionCounts(generations),
    usage,
  };
}

/**
 * The earliest generation's title; `null` when the generations are known to have none (their
 * first user message has no text); absent when none knows (all summarised before titles).
 */
function titleField(titles: readonly (string | null | undefined)[]): { title?: string | null } {
  const known = titles.find((title): title is string => typeof title === 'string');
  if (known !== undefined) return { title: known };
  return titles.some((title) => title === null) ? { title: null } : {};
}

/** User and assistant messages, and tool calls, of a session's fullest generation. Pure. */
export function sessionCounts(generations: readonly Pick<Generation, 'summary'>[]): {
  messages: number;
  toolCalls: number;
} {
  return {
    messages: Math.max(0, ...generations.map((g) => messageCount(g.summary))),
    toolCalls: Math.max(0, ...generations.map((g) => sumValues(g.summary.toolCalls))),
  };
}

function messageCount(summary: TranscriptSummary): number {
  return (summary.messagesByRole['user'] ?? 0) + (summary.messagesByRole['assistant'] ?? 0);
}

function sumValues(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a.localeCompare(b);
}

function minOf(values: readonly (string | null)[]): string | null {
  const present = values.filter((v): v is string => v !== null).sort();
  return present[0] ?? null;
}

function maxOf(values: readonly (string | null)[]): string | null {
  const present = values.filter((v): v is string => v !== null).sort();
  return present[present.length - 1] ?? null;
}

function union(lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())].sort();
}

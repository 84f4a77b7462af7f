import {
  queryAll,
  scopeKey,
  sumBuckets,
  type AgentScope,
  type UsageBucket,
  type SessionStateName,
  type Storage,
} from '@nexus/core';
import { listAgents, readEach } from '../transcripts/session-queries.ts';
import { sessionFromEntity } from '../transcripts/rows.ts';
import type { ScopedBucket } from '../transcripts/usage-report.ts';

/** A session as the dashboard's list shows it: the record without its per-day usage. */
export interface CatalogSession {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly title: string | null;
  readonly startedAt: string | null;
  readonly activityAt: string;
  readonly messages: number | undefined;
  readonly toolCalls: number | undefined;
  readonly tokens: number;
  readonly costUsd: number;
  readonly storedBytes: number;
  readonly state: SessionStateName;
  readonly models: readonly string[];
  readonly channel: string | undefined;
  /** The title in lower case without accents, what the text filter compares with. */
  readonly folded: string;
}

export const SESSION_SORTS = ['activity', 'cost', 'size', 'messages'] as const;
export type SessionSort = (typeof SESSION_SORTS)[number];

export interface SessionFilter {
  readonly hostId?: string | undefined;
  readonly agentId?: string | undefined;
  readonly model?: string | undefined;
  readonly channel?: string | undefined;
  readonly state?: SessionStateName;
  /** Words that must all appear in the title (case and accents ignored). */
  readonly text?: string | undefined;
  /** Last activity in `[fromMs, toMs)`. */
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly sort: SessionSort;
  /** Which sessions the viewer may read. */
  readonly readable: (hostId: string) => boolean;
}

/** How often a page checks whether any agent received an upload (a few point reads). */
export const CATALOG_CHECK_MS = 5_000;
/** How often everything is read again anyway (rows changed without an upload: an fsck repair). */
export const CATALOG_RELOAD_MS = 15 * 60_000;

/** What the dashboard keeps in memory: every session, and usage summed per agent, day and model. */
export interface Catalog {
  /** Newest activity first. */
  readonly sessions: readonly CatalogSession[];
  readonly usage: readonly ScopedBucket[];
  /** The same sessions in the order of each other sort. */
  readonly sorted: Readonly<Record<SessionSort, readonly CatalogSession[]>>;
  /** Per host, the values its sessions' filters can take. */
  readonly choices: ReadonlyMap<string, Choices>;
}

interface Choices {
  readonly agents: ReadonlySet<string>;
  readonly models: ReadonlySet<string>;
  readonly channels: ReadonlySet<string>;
}

interface ScopeEntry {
  readonly lastReceivedAt: string;
  readonly sessions: readonly CatalogSession[];
  /** The same sessions by id (a title filled in finds its item at once). */
  readonly byId: ReadonlyMap<string, CatalogSession>;
  readonly usage: readonly ScopedBucket[];
}

/** What a session stored before 0.5 gets filled in with (`TitleBackfill`). */
export interface FilledIn {
  readonly title: string | null;
  readonly messages: number;
  readonly toolCalls: number;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Every stored session, kept in memory for the dashboard: filtering and sorting 100,000 sessions
 * in memory takes milliseconds, reading their rows takes seconds. Each agent's sessions are read
 * once; after that a page at most every `CATALOG_CHECK_MS` reads each agent's last upload time
 * (one row per agent) and reads again only the agents that received something since, behind the
 * page (which shows what was there a moment before and says when). Each instance of the app keeps
 * its own.
 */
export class SessionCatalog {
  private readonly storage: Storage;
  private readonly nowMs: () => number;
  private readonly checkMs: number;
  private scopes = new Map<string, ScopeEntry>();
  private current: (Catalog & { atMs: number }) | undefined;
  private checkedAtMs = Number.NEGATIVE_INFINITY;
  private reloadedAtMs = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  private readonly untitled:
    ((scope: AgentScope, sessionIds: readonly string[]) => void) | undefined;
  private readonly maskTitle: (title: string) => string;

  constructor(
    storage: Storage,
    options: {
      nowMs?: () => number;
      checkMs?: number;
      /** Told the sessions of an agent stored before they had titles (to fill them in). */
      untitled?: (scope: AgentScope, sessionIds: readonly string[]) => void;
      /** A title as shown (secrets masked: a title is the first user message). */
      maskTitle?: (title: string) => string;
    } = {},
  ) {
    this.storage = storage;
    this.maskTitle = options.maskTitle ?? ((title) => title);
    this.nowMs = options.nowMs ?? Date.now;
    this.checkMs = options.checkMs ?? CATALOG_CHECK_MS;
    this.untitled = options.untitled;
  }

  /** A session's title and counts, filled in after it was read: shown without reading it again. */
  fillIn(scope: AgentScope, sessionId: string, filled: FilledIn): void {
    const item = this.scopes.get(scopeKey(scope))?.byId.get(sessionId) as
      Writable<CatalogSession> | undefined;
    if (!item) return;
    item.title = filled.title === null ? null : this.maskTitle(filled.title);
    item.folded = fold(item.title ?? '');
    item.messages = filled.messages;
    item.toolCalls = filled.toolCalls;
  }

  /** The sessions and usage as last read, and when; read now if never read. */
  async sessions(): Promise<Catalog & { atMs: number }> {
    if (this.current === undefined) await this.refresh();
    else if (this.nowMs() - this.checkedAtMs > this.checkMs) this.refresh().catch(() => undefined);
    if (this.current === undefined) throw new Error('the session list could not be read');
    return this.current;
  }

  /** Makes the next page check for uploads (after one to this process). */
  invalidate(): void {
    this.checkedAtMs = Number.NEGATIVE_INFINITY;
  }

  /**
   * Makes the next page read the agent's sessions again, and wait for them (a session of it was
   * deleted here; other processes see it at their next full reload, `CATALOG_RELOAD_MS`).
   */
  forgetAgent(scope: AgentScope): void {
    this.scopes.delete(scopeKey(scope));
    // Not served again while the refresh runs: the next page waits for it.
    this.current = undefined;
    this.invalidate();
  }

  /** Reads what changed; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.readChanges().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async readChanges(): Promise<void> {
    const startedMs = this.nowMs();
    const everything = startedMs - this.reloadedAtMs > CATALOG_RELOAD_MS;
    const agents = await listAgents(this.storage);
    const next = new Map<string, ScopeEntry>();
    let changed = everything || agents.length !== this.scopes.size;
    await readEach(agents, async (agent) => {
      const key = scopeKey(agent);
      const known = this.scopes.get(key);
      if (!everything && known?.lastReceivedAt === agent.lastReceivedAt) {
        next.set(key, known);
        return;
      }
      changed = true;
      const read = await readScope(this.storage, agent, this.maskTitle);
      next.set(key, {
        lastReceivedAt: agent.lastReceivedAt,
        sessions: read.sessions,
        byId: new Map(read.sessions.map((item) => [item.sessionId, item])),
        usage: read.usage,
      });
      if (read.untitled.length > 0) this.untitled?.(agent, read.untitled);
    });
    this.scopes = next;
    this.checkedAtMs = startedMs;
    if (everything) this.reloadedAtMs = startedMs;
    if (changed || this.current === undefined)
      this.current = { ...combine([...next.values()]), atMs: startedMs };
    else this.current = { ...this.current, atMs: startedMs };
  }
}

/** One agent's sessions and its usage summed per day and model. */
async function readScope(
  storage: Storage,
  scope: AgentScope,
  maskTitle: (title: string) => string,
): Promise<{ sessions: CatalogSession[]; usage: ScopedBucket[]; untitled: string[] }> {
  const sessions: CatalogSession[] = [];
  const buckets: UsageBucket[] = [];
  const untitled: string[] = [];
  for await (const row of queryAll(storage.tables, 'sessions', scopeKey(scope))) {
    const record = sessionFromEntity(row);
    sessions.push(catalogItem(record, maskTitle));
    buckets.push(...record.usage);
    if (record.title === undefined) untitled.push(record.sessionId);
  }
  return {
    sessions,
    untitled,
    usage: sumBuckets(buckets).map((bucket) => ({
      ...bucket,
      hostId: scope.hostId,
      agentId: scope.agentId,
    })),
  };
}

/** A catalog of these sessions (without usage): for tests and tools. */
export function catalogOf(sessions: readonly CatalogSession[]): Catalog {
  return combine([{ lastReceivedAt: '', sessions, byId: new Map(), usage: [] }]);
}

/** Every agent's sessions together, in each order, with each host's filter values. */
function combine(scopes: readonly ScopeEntry[]): Catalog {
  const all = scopes.flatMap((scope) => scope.sessions);
  const order = (key: (s: CatalogSession) => number) =>
    [...all].sort(
      (a, b) =>
        key(b) - key(a) ||
        compareText(b.activityAt, a.activityAt) ||
        compareText(a.sessionId, b.sessionId),
    );
  const byActivity = order(() => 0);
  const choices = new Map<
    string,
    { agents: Set<string>; models: Set<string>; channels: Set<string> }
  >();
  for (const s of all) {
    let host = choices.get(s.hostId);
    if (!host) {
      host = { agents: new Set(), models: new Set(), channels: new Set() };
      choices.set(s.hostId, host);
    }
    host.agents.add(s.agentId);
    for (const model of s.models) host.models.add(model);
    if (s.channel !== undefined) host.channels.add(s.channel);
  }
  return {
    sessions: byActivity,
    usage: scopes.flatMap((scope) => scope.usage),
    sorted: {
      activity: byActivity,
      cost: order((s) => s.costUsd),
      size: order((s) => s.storedBytes),
      messages: order((s) => s.messages ?? -1),
    },
    choices,
  };
}

function catalogItem(
  record: ReturnType<typeof sessionFromEntity>,
  maskTitle: (title: string) => string,
): CatalogSession {
  const title =
    record.title === undefined || record.title === null ? null : maskTitle(record.title);
  return {
    hostId: record.hostId,
    agentId: record.agentId,
    sessionId: record.sessionId,
    title,
    startedAt: record.firstTimestamp,
    activityAt: record.activityAt,
    messages: record.messages,
    toolCalls: record.toolCalls,
    tokens: record.tokens.total,
    costUsd: record.costUsd,
    storedBytes: record.storedBytes,
    state: record.state?.state ?? 'live',
    models: record.models,
    channel: record.context.channel,
    folded: fold(title ?? ''),
  };
}

/** Lower case without accents: "Café" and "cafe" are the same to the title filter. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The sessions that pass the filter, in the filter's order (largest or newest first). Pure. */
export function filterSessions(
  catalog: Pick<Catalog, 'sorted'>,
  filter: SessionFilter,
): CatalogSession[] {
  const words = fold(filter.text ?? '')
    .split(/\s+/)
    .filter((word) => word !== '');
  const fromIso = filter.fromMs === undefined ? undefined : new Date(filter.fromMs).toISOString();
  const toIso = filter.toMs === undefined ? undefined : new Date(filter.toMs).toISOString();
  return catalog.sorted[filter.sort].filter(
    (s) =>
      filter.readable(s.hostId) &&
      (filter.hostId === undefined || s.hostId === filter.hostId) &&
      (filter.agentId === undefined || s.agentId === filter.agentId) &&
      (filter.state === undefined || s.state === filter.state) &&
      (filter.channel === undefined || s.channel === filter.channel) &&
      (filter.model === undefined || s.models.includes(filter.model)) &&
      (fromIso === undefined || s.activityAt >= fromIso) &&
      (toIso === undefined || s.activityAt < toIso) &&
      words.every((word) => s.folded.includes(word)),
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The values each filter can take, for its menu: those of the hosts the viewer may read. */
export function filterChoices(
  catalog: Pick<Catalog, 'choices'>,
  readable: (hostId: string) => boolean,
): { hosts: string[]; agents: string[]; models: string[]; channels: string[] } {
  const hosts: string[] = [];
  const agents = new Set<string>();
  const models = new Set<string>();
  const channels = new Set<string>();
  for (const [hostId, choices] of catalog.choices) {
    if (!readable(hostId)) continue;
    hosts.push(hostId);
    for (const agent of choices.agents) agents.add(agent);
    for (const model of choices.models) models.add(model);
    for (const channel of choices.channels) channels.add(channel);
  }
  const sorted = (set: Iterable<string>) => [...set].sort();
  return {
    hosts: sorted(hosts),
    agents: sorted(agents),
    models: sorted(models),
    channels: sorted(channels),
  };
}

import {
  queryAll,
  scopeKey,
  scopeOfKey,
  sumBuckets,
  type AgentScope,
  type UsageBucket,
  type SessionStateName,
  type Storage,
} from '@nexus/core';
import { AGENTS_PARTITION } from '../transcripts/keys.ts';
import { readEach } from '../transcripts/session-queries.ts';
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

/** How long a loaded list is shown as is; after that a page triggers a reload behind it. */
export const CATALOG_FRESH_MS = 10_000;

/**
 * Every stored session, kept in memory for the sessions page: filtering and sorting 100,000
 * sessions in memory takes milliseconds, while reading their rows takes seconds. The list is read
 * once, then served while a reload runs behind it whenever it is older than `freshMs` (so a page
 * shows what was stored up to about ten seconds before). Each instance of the app keeps its own.
 */
export class SessionCatalog {
  private readonly storage: Storage;
  private readonly nowMs: () => number;
  private readonly freshMs: number;
  private loaded: (Catalog & { atMs: number }) | undefined;
  private loading: Promise<Catalog> | undefined;

  constructor(storage: Storage, options: { nowMs?: () => number; freshMs?: number } = {}) {
    this.storage = storage;
    this.nowMs = options.nowMs ?? Date.now;
    this.freshMs = options.freshMs ?? CATALOG_FRESH_MS;
  }

  /** The sessions and usage as last read, and when; read now if never read. */
  async sessions(): Promise<Catalog & { atMs: number }> {
    const loaded = this.loaded;
    if (loaded === undefined) {
      const catalog = await this.reload();
      return { ...catalog, atMs: this.loaded?.atMs ?? this.nowMs() };
    }
    if (this.nowMs() - loaded.atMs > this.freshMs) this.reload().catch(() => undefined);
    return loaded;
  }

  /** Forgets the list, so the next page reads it again (after an upload in this process). */
  invalidate(): void {
    if (this.loaded) this.loaded = { ...this.loaded, atMs: Number.NEGATIVE_INFINITY };
  }

  private reload(): Promise<Catalog> {
    this.loading ??= (async () => {
      const startedMs = this.nowMs();
      try {
        const catalog = await readCatalog(this.storage);
        this.loaded = { ...catalog, atMs: startedMs };
        return catalog;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

/** What the dashboard keeps in memory: every session, and usage summed per agent, day and model. */
export interface Catalog {
  readonly sessions: readonly CatalogSession[];
  readonly usage: readonly ScopedBucket[];
}

/**
 * Every session row of every agent, as list items, and their usage summed per host, agent, day
 * and model (each session counts each message once, and sessions are disjoint, as in
 * `usageReport`).
 */
export async function readCatalog(storage: Storage): Promise<Catalog> {
  const scopes: AgentScope[] = [];
  for await (const row of queryAll(storage.tables, 'agents', AGENTS_PARTITION)) {
    const scope = scopeOfKey(row.rowKey);
    if (scope) scopes.push(scope);
  }
  const perScope = await readEach(scopes, async (scope) => {
    const items: CatalogSession[] = [];
    const buckets: UsageBucket[] = [];
    for await (const row of queryAll(storage.tables, 'sessions', scopeKey(scope))) {
      const record = sessionFromEntity(row);
      items.push(catalogItem(record));
      buckets.push(...record.usage);
    }
    return { items, usage: sumBuckets(buckets).map((bucket) => ({ ...bucket, ...scope })) };
  });
  return {
    sessions: perScope.flatMap((scope) => scope.items),
    usage: perScope.flatMap((scope) => scope.usage),
  };
}

function catalogItem(record: ReturnType<typeof sessionFromEntity>): CatalogSession {
  const title = record.title ?? null;
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

/** The sessions that pass the filter, sorted (largest or newest first). Pure. */
export function filterSessions(
  sessions: readonly CatalogSession[],
  filter: SessionFilter,
): CatalogSession[] {
  const words = fold(filter.text ?? '')
    .split(/\s+/)
    .filter((word) => word !== '');
  const fromIso = filter.fromMs === undefined ? undefined : new Date(filter.fromMs).toISOString();
  const toIso = filter.toMs === undefined ? undefined : new Date(filter.toMs).toISOString();
  const kept = sessions.filter(
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
  const key = SORT_KEYS[filter.sort];
  return kept.sort(
    (a, b) =>
      key(b) - key(a) ||
      compareText(b.activityAt, a.activityAt) ||
      compareText(a.sessionId, b.sessionId),
  );
}

const SORT_KEYS: Record<SessionSort, (s: CatalogSession) => number> = {
  activity: () => 0,
  cost: (s) => s.costUsd,
  size: (s) => s.storedBytes,
  messages: (s) => s.messages ?? -1,
};

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The values each filter can take, for its menu. */
export function filterChoices(
  sessions: readonly CatalogSession[],
  readable: (hostId: string) => boolean,
): { hosts: string[]; agents: string[]; models: string[]; channels: string[] } {
  const hosts = new Set<string>();
  const agents = new Set<string>();
  const models = new Set<string>();
  const channels = new Set<string>();
  for (const s of sessions) {
    if (!readable(s.hostId)) continue;
    hosts.add(s.hostId);
    agents.add(s.agentId);
    for (const model of s.models) models.add(model);
    if (s.channel !== undefined) channels.add(s.channel);
  }
  const sorted = (set: Set<string>) => [...set].sort();
  return {
    hosts: sorted(hosts),
    agents: sorted(agents),
    models: sorted(models),
    channels: sorted(channels),
  };
}

import type { GenerationToIndex } from '../transcripts/ingest-transcript.ts';
import type { SearchDoc, SearchRole } from './search-docs.ts';
import type { ParsedQuery } from './search-text.ts';

/** A value now (SQLite answers at once) or later (a service over the network). */
export type Awaitable<T> = T | Promise<T>;

/** A stored generation waiting to be indexed: its messages from `fromLine` (byte `fromByte`) on. */
export type PendingGeneration = GenerationToIndex;

/** Whose messages a generation holds, without where its new ones begin. */
export type IndexedGeneration = Omit<PendingGeneration, 'fromByte' | 'fromLine'>;

/** One session of one agent of one host. */
export type SessionRef = Omit<IndexedGeneration, 'sha256'>;

/** A generation in the queue, with its queue id and when it was queued. */
export interface QueuedGeneration extends PendingGeneration {
  readonly id: string;
  readonly queuedAtMs: number;
}

/**
 * A queued generation from its stored fields (SQLite's `pending` columns and the queue table's
 * properties have the same names).
 */
export function queuedGenerationOf(
  id: string,
  fields: Readonly<Record<string, unknown>>,
): QueuedGeneration {
  return {
    id,
    hostId: String(fields['hostId']),
    agentId: String(fields['agentId']),
    sessionId: String(fields['sessionId']),
    sha256: String(fields['sha256']),
    fromByte: Number(fields['fromByte']),
    fromLine: Number(fields['fromLine']),
    queuedAtMs: Number(fields['queuedAtMs']),
  };
}

export interface SearchFilters {
  /** Only these hosts (what the key may read, or the one asked for); absent: all. */
  readonly hosts?: readonly string[];
  readonly agentId?: string;
  readonly sessionId?: string;
  readonly roles: readonly SearchRole[];
  readonly fromMs?: number;
  readonly toMs?: number;
}

export interface SearchHit {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly sha256: string;
  readonly entry: string;
  readonly line: number;
  readonly role: SearchRole;
  readonly timeMs: number;
  /** The message's text as stored in the index (unmasked: mask before showing it). */
  readonly text: string;
}

export interface SearchAnswer {
  readonly hits: readonly SearchHit[];
  /** Too many matches to rank: the hits are the newest ones, not the most relevant. */
  readonly capped: boolean;
}

/** A rebuild of the index from storage: asked for, listing storage, or done. */
export interface RebuildProgress {
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly sessions: number;
  readonly generations: number;
}

/**
 * Where the messages are searched: SQLite FTS5 in the data folder (`SqliteSearchIndex`) or
 * Azure AI Search (`AzureSearchIndex`). Derived data: emptied and filled again from storage at
 * will.
 */
export interface SearchIndex {
  /** `sqlite` or `azure-ai-search`: what the status says. */
  readonly engine: string;
  /**
   * Gets the index ready (once); true when it was created empty (new, or of an older schema):
   * the indexer then fills it from storage.
   */
  open(): Awaitable<boolean>;
  /** Drops every indexed message. */
  recreate(): Awaitable<void>;
  /** The generation's messages are all indexed (an index that does not keep track says no). */
  isIndexed(item: IndexedGeneration): Awaitable<boolean>;
  /**
   * Adds a batch of a generation's messages, each once per session (the same entry in a later
   * generation is the same message); `finished` marks the generation indexed.
   */
  add(item: IndexedGeneration, docs: readonly SearchDoc[], finished: boolean): Awaitable<unknown>;
  /**
   * Removes every message of a session (its data was deleted); returns how many. Generations of
   * it still queued are dropped when their turn comes (they have no rows any more).
   */
  removeSession(session: SessionRef): Awaitable<number>;
  /** The best `limit` matches of `query` within `filters`, best first. */
  search(query: ParsedQuery, filters: SearchFilters, limit: number): Awaitable<SearchAnswer>;
  /** Messages indexed and the index's size in bytes (as the engine counts them). */
  stats(): Awaitable<{ messages: number; bytes: number }>;
  close(): Awaitable<void>;
}

/**
 * The durable list of generations to index, and the state of the last rebuild: in the index's
 * own SQLite file beside embedded storage, or in Table Storage beside Azure AI Search, where the
 * API's instances that queue and the one that indexes may be different processes.
 */
export interface SearchQueue {
  /**
   * Other processes may add to the queue (Azure Functions' instances): a generation without a
   * row is dropped only once it is old enough that its upload cannot still be recording it.
   */
  readonly shared: boolean;
  enqueue(item: PendingGeneration): Awaitable<void>;
  /** The oldest generations waiting, oldest first. */
  oldest(limit: number): Awaitable<readonly QueuedGeneration[]>;
  remove(id: string): Awaitable<void>;
  /** Generations waiting, counted up to `cap` (more than that is reported as `cap`). */
  count(cap: number): Awaitable<number>;
  rebuildState(): Awaitable<RebuildProgress | undefined>;
  setRebuildState(progress: RebuildProgress): Awaitable<void>;
}

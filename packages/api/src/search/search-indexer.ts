import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { NotFoundError, coerceError, type Storage } from '@nexus/core';
import { pageEntries } from '../dashboard/transcript-page.ts';
import { loadGenerationRows, readGeneration } from '../transcripts/generation-content.ts';
import type { GenerationRow } from '../transcripts/rows.ts';
import { listAgents, sessionsOf } from '../transcripts/session-queries.ts';
import { searchDocOf, type SearchDoc } from './search-docs.ts';
import type { PendingGeneration, SqliteSearchIndex } from './sqlite-search-index.ts';

/** Messages written to the index per transaction (and between two turns of the event loop). */
const BATCH = 200;
/**
 * Uploads come first: a batch waits until no upload has arrived for this long (the index costs
 * the API's thread what uploads need: B1 ran 65-100% longer with the index fed beside them)...
 */
const QUIET_MS = 300;
/** ...but never longer than this, so a long backfill still moves the index on. */
const MAX_DEFER_MS = 5_000;
/** After a failure to read a generation, the queue waits this long before trying again. */
const RETRY_MS = 30_000;

export interface RebuildProgress {
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly sessions: number;
  readonly generations: number;
}

/**
 * Keeps the search index up to date with storage, behind the uploads: each stored generation is
 * queued (durably, in the index's own `pending` table) before its row is written, and a loop in
 * the background reads it from storage, a batch of lines at a time (an increment from where its
 * base ended), and adds its messages. A generation whose upload failed is not in storage: it is
 * dropped from the queue. A rebuild empties the index and queues every session's generations.
 */
export class SearchIndexer {
  private readonly storage: Storage;
  private readonly index: SqliteSearchIndex;
  private readonly logger: Logger;
  private wakeUp: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  private rebuild: RebuildProgress | undefined;
  /** Counts rebuilds: a generation being indexed when the index was emptied is not marked done. */
  private epoch = 0;
  /** Generations queued whose rows are being written now, by key, with how many uploads. */
  private readonly recording = new Map<string, number>();
  private readonly nowMs: () => number;
  private lastUploadMs = Number.NEGATIVE_INFINITY;
  private lastBatchMs = Number.NEGATIVE_INFINITY;

  constructor(deps: {
    storage: Storage;
    index: SqliteSearchIndex;
    logger: Logger;
    nowMs?: () => number;
  }) {
    this.nowMs = deps.nowMs ?? (() => performance.now());
    this.storage = deps.storage;
    this.index = deps.index;
    this.logger = deps.logger;
  }

  /**
   * Queues a generation about to be recorded (the ingest path calls this first); the function
   * returned says its recording is over. Until then the queue waits at it: a generation without
   * a row is dropped only when no upload of it is still being recorded.
   */
  enqueue(item: PendingGeneration): () => void {
    this.lastUploadMs = this.nowMs();
    const key = recordingKey(item);
    this.recording.set(key, (this.recording.get(key) ?? 0) + 1);
    this.index.enqueue(item);
    this.wakeUp?.();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.recording.get(key) ?? 1) - 1;
      if (left > 0) this.recording.set(key, left);
      else this.recording.delete(key);
      this.wakeUp?.();
    };
  }

  /** Starts the loop; a fresh index (a new data folder, or a new schema) is built from storage. */
  start(): void {
    if (this.running !== undefined) return;
    if (this.index.fresh) this.startRebuild();
    this.running = this.loop();
  }

  /** Resolves when nothing is waiting to be indexed (tests, and the rebuild command's wait). */
  async idle(): Promise<void> {
    if (this.index.pendingCount() === 0 && this.rebuild?.finishedAt !== null) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops the loop after its current batch (a generation cut short stays queued: its messages
   * so far are kept, the rest added after the next start) and closes the index.
   */
  async close(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
    this.index.close();
  }

  /** The index's answer to a query (`SqliteSearchIndex.search`). */
  search(
    ...args: Parameters<SqliteSearchIndex['search']>
  ): ReturnType<SqliteSearchIndex['search']> {
    return this.index.search(...args);
  }

  /** Generations waiting to be indexed (every search answer says how many). */
  pendingCount(): number {
    return this.index.pendingCount();
  }

  /** What `GET /v1/search/status` shows. */
  status(): {
    messages: number;
    pending: number;
    bytes: number;
    rebuild: RebuildProgress | null;
  } {
    return { ...this.index.stats(), rebuild: this.rebuild ?? null };
  }

  /** Starts a rebuild in the background (`rebuildFromStorage`); its failure is logged. */
  startRebuild(): void {
    this.rebuildFromStorage().catch((error: unknown) => {
      this.logger.error(
        { err: coerceError(error) },
        'search index: the rebuild could not list storage; POST /v1/search/rebuild to try again',
      );
    });
  }

  /**
   * Empties the index and queues every stored session's generations (each generation that is
   * not the base of another: the others' messages are in the ones that extend them). Generations
   * queued meanwhile by uploads stay queued.
   */
  async rebuildFromStorage(): Promise<RebuildProgress> {
    if (this.rebuild !== undefined && this.rebuild.finishedAt === null) return this.rebuild;
    let progress: RebuildProgress = {
      startedAt: new Date().toISOString(),
      finishedAt: null,
      sessions: 0,
      generations: 0,
    };
    this.rebuild = progress;
    this.epoch += 1;
    this.index.recreate();
    this.logger.info('search index: rebuilding from storage');
    try {
      for (const agent of await listAgents(this.storage)) {
        const scope = { hostId: agent.hostId, agentId: agent.agentId };
        for await (const session of sessionsOf(this.storage, scope)) {
          const rows = await loadGenerationRows(this.storage, scope, session.sessionId);
          for (const row of leaves(rows)) {
            // Stored already: nothing to wait for, and no upload to make way for.
            this.index.enqueue({
              ...scope,
              sessionId: session.sessionId,
              sha256: row.sha256,
              fromByte: 0,
              fromLine: 0,
            });
            this.wakeUp?.();
            progress = { ...progress, generations: progress.generations + 1 };
          }
          progress = { ...progress, sessions: progress.sessions + 1 };
          this.rebuild = progress;
          if (progress.sessions % 1000 === 0)
            this.logger.info(
              { sessions: progress.sessions, generations: progress.generations },
              'search index: listing stored sessions to rebuild',
            );
        }
      }
    } finally {
      progress = { ...progress, finishedAt: new Date().toISOString() };
      this.rebuild = progress;
      this.wakeUp?.();
    }
    this.logger.info(
      { sessions: progress.sessions, generations: progress.generations },
      'search index: every stored generation queued',
    );
    return progress;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const next = this.index.nextPending();
      if (next === undefined) {
        if (this.rebuild?.finishedAt !== null) {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        this.wakeUp = undefined;
        continue;
      }
      if (this.recording.has(recordingKey(next))) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        this.wakeUp = undefined;
        continue;
      }
      try {
        if (!this.index.isIndexed(next)) await this.indexGeneration(next);
        this.index.dequeue(next.id);
      } catch (error) {
        if (error instanceof StoppedError) return;
        this.logger.warn(
          {
            err: coerceError(error),
            hostId: next.hostId,
            agentId: next.agentId,
            sessionId: next.sessionId,
          },
          `search index: could not read a generation; trying again in ${RETRY_MS / 1000} s`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RETRY_MS);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = undefined;
      }
    }
  }

  private async indexGeneration(item: PendingGeneration): Promise<void> {
    const epoch = this.epoch;
    const scope = { hostId: item.hostId, agentId: item.agentId };
    const rows = await loadGenerationRows(this.storage, scope, item.sessionId);
    // Queued before its row was written: an upload that then failed stored nothing to index.
    if (!rows.has(item.sha256)) return;
    let docs: SearchDoc[] = [];
    try {
      const body = readGeneration(
        this.storage,
        scope,
        item.sessionId,
        item.sha256,
        rows,
        item.fromByte,
      );
      for await (const entries of pageEntries(body, BATCH)) {
        for (const entry of entries) {
          const doc = searchDocOf({ ...entry, index: entry.index + item.fromLine });
          if (doc !== undefined) docs.push(doc);
        }
        if (docs.length >= BATCH) {
          await this.turn();
          if (this.stopped) throw new StoppedError();
          this.index.add(item, docs, false);
          docs = [];
        }
      }
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
    await this.turn();
    if (this.stopped) throw new StoppedError();
    // Emptied meanwhile (a rebuild): its earlier batches are gone, and the rebuild queued it
    // again; marked done now, that copy would be skipped.
    this.index.add(item, docs, epoch === this.epoch);
  }

  /** Waits for the index's turn: uploads quiet for a moment, or a batch not written for long. */
  private async turn(): Promise<void> {
    for (;;) {
      const now = this.nowMs();
      if (
        this.stopped ||
        now - this.lastUploadMs >= QUIET_MS ||
        now - this.lastBatchMs >= MAX_DEFER_MS
      )
        break;
      await sleep(Math.min(QUIET_MS, MAX_DEFER_MS - (now - this.lastBatchMs)));
    }
    this.lastBatchMs = this.nowMs();
  }
}

const recordingKey = (item: PendingGeneration): string =>
  `${item.hostId}/${item.agentId}/${item.sessionId}/${item.sha256}`;

/** The generations no other generation of the session extends. */
function leaves(rows: ReadonlyMap<string, GenerationRow>): GenerationRow[] {
  const bases = new Set<string>();
  for (const row of rows.values())
    if (row.generation.extends !== undefined) bases.add(row.generation.extends);
  return [...rows.values()].filter((row) => !bases.has(row.sha256));
}

/** Thrown out of a generation's indexing when the server stops: it stays queued. */
class StoppedError extends Error {}

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { NotFoundError, coerceError, type Storage } from '@nexus/core';
import { pageEntries } from '../dashboard/transcript-page.ts';
import { loadGenerationRows, readGeneration } from '../transcripts/generation-content.ts';
import type { GenerationRow } from '../transcripts/rows.ts';
import { listAgents, sessionsOf } from '../transcripts/session-queries.ts';
import { searchDocOf, type SearchDoc } from './search-docs.ts';
import type {
  PendingGeneration,
  QueuedGeneration,
  RebuildProgress,
  SearchAnswer,
  SearchIndex,
  SearchQueue,
  SessionRef,
} from './search-index.ts';

/** Messages written to the index per transaction (and between two turns of the event loop). */
const BATCH = 200;
/** Generations read from the queue at a time. */
const QUEUE_READ = 20;
/**
 * Uploads come first: a batch waits until no upload has arrived for this long (the index costs
 * the API's thread what uploads need: B1 ran 65-100% longer with the index fed beside them)...
 */
const QUIET_MS = 300;
/** ...but never longer than this, so a long backfill still moves the index on. */
const MAX_DEFER_MS = 5_000;
/** After a failure to read a generation or to write the index, the loop waits this long. */
const RETRY_MS = 30_000;
/**
 * A queue shared between processes: a generation without a row is dropped only when queued this
 * long ago (an upload records its row seconds after queueing it; Azure's front end ends any
 * request after 230 s).
 */
const ROW_GRACE_MS = 5 * 60_000;
/** Waiting generations counted at most, for the status... */
const PENDING_CAP = 10_000;
/** ...and for a search answer. */
const ANSWER_PENDING_CAP = 1_000;

/** What one pass over the queue did. */
type Pass = 'empty' | 'progress' | 'blocked' | 'failed';

/**
 * Keeps the search index up to date with storage, behind the uploads: each stored generation is
 * queued (durably: `SearchQueue`) before its row is written, and the indexer reads it from
 * storage, a batch of lines at a time (an increment from where its base ended), and adds its
 * messages. A generation whose upload failed is not in storage: it is dropped from the queue. A
 * rebuild empties the index and queues every session's generations; it is asked for durably, so
 * one cut short by a restart starts again. The Node server runs the indexer as a loop in the
 * background (`start`); Azure Functions runs it a while at a time from a timer (`drain`).
 */
export class SearchIndexer {
  private readonly storage: Storage;
  private readonly index: SearchIndex;
  private readonly queue: SearchQueue;
  private readonly logger: Logger;
  private wakeUp: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  /** The rebuild listing storage in this process, if one is, and how far it got. */
  private listing: Promise<void> | undefined;
  private listed: RebuildProgress | undefined;
  /** When a rebuild's listing last failed: the next waits `RETRY_MS`. */
  private listingFailedMs = Number.NEGATIVE_INFINITY;
  /**
   * Whether the rebuild's state must be read before the next pass: at start, when one is asked
   * for here, and after a listing failed. Not on every pass (on Azure each read is a request).
   */
  private rebuildDue = true;
  /** Counts rebuilds: a generation being indexed when the index was emptied is not marked done. */
  private epoch = 0;
  /** Generations queued whose rows are being written now, by key, with how many uploads. */
  private readonly recording = new Map<string, number>();
  private readonly nowMs: () => number;
  private lastUploadMs = Number.NEGATIVE_INFINITY;
  private lastBatchMs = Number.NEGATIVE_INFINITY;
  /** Set by `drain`: the pass ends its work by then. */
  private deadlineMs = Number.POSITIVE_INFINITY;
  private initialised: Promise<void> | undefined;
  private readonly rowGraceMs: number;
  /** Sessions removed while this process runs, by key: how many times. */
  private readonly removals = new Map<string, number>();

  constructor(deps: {
    storage: Storage;
    index: SearchIndex;
    queue: SearchQueue;
    logger: Logger;
    nowMs?: () => number;
    /** `ROW_GRACE_MS` unless a test says otherwise. */
    rowGraceMs?: number;
  }) {
    this.nowMs = deps.nowMs ?? (() => performance.now());
    this.rowGraceMs = deps.rowGraceMs ?? ROW_GRACE_MS;
    this.storage = deps.storage;
    this.index = deps.index;
    this.queue = deps.queue;
    this.logger = deps.logger;
  }

  /**
   * Queues a generation about to be recorded (the ingest path calls this first); the function
   * returned says its recording is over. Until then the queue waits at it: a generation without
   * a row is dropped only when no upload of it is still being recorded.
   */
  async enqueue(item: PendingGeneration): Promise<() => void> {
    this.lastUploadMs = this.nowMs();
    const key = recordingKey(item);
    this.recording.set(key, (this.recording.get(key) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.recording.get(key) ?? 1) - 1;
      if (left > 0) this.recording.set(key, left);
      else this.recording.delete(key);
      this.wakeUp?.();
    };
    try {
      await this.queue.enqueue(item);
    } catch (error) {
      release();
      throw error;
    }
    this.wakeUp?.();
    return release;
  }

  /** Starts the loop in the background (the Node server); a fresh index is built from storage. */
  start(): void {
    if (this.running !== undefined) return;
    this.running = this.loop();
  }

  /**
   * Indexes what is queued until the queue is empty or `untilMs` (on `nowMs`'s clock) comes,
   * first building a fresh index or a rebuild asked for (Azure Functions' timer). A rebuild cut
   * short by the deadline starts again at the next drain. Returns how much is left.
   */
  async drain(untilMs: number): Promise<{ pending: number; rebuilding: boolean }> {
    this.deadlineMs = untilMs;
    // Another instance may have asked for a rebuild since the last drain.
    this.rebuildDue = true;
    try {
      await this.checkRebuild();
      for (;;) {
        const pass = await this.pass();
        if (pass === 'failed' || this.pastDeadline()) break;
        if (pass === 'progress') continue;
        // Nothing to do now: wait for the rebuild's listing to queue more, if one runs.
        if (this.listing === undefined) break;
        await Promise.race([this.listing, sleep(200)]);
      }
    } finally {
      // A listing still running stops at its next session (and starts again next time).
      this.deadlineMs = Number.NEGATIVE_INFINITY;
      await this.listing;
      this.deadlineMs = Number.POSITIVE_INFINITY;
    }
    return {
      pending: await this.queue.count(PENDING_CAP),
      rebuilding: (await this.queue.rebuildState())?.finishedAt === null,
    };
  }

  /** Resolves when nothing is waiting to be indexed (tests, and the rebuild command's wait). */
  async idle(): Promise<void> {
    if (
      this.listing === undefined &&
      (await this.queue.count(1)) === 0 &&
      (await this.queue.rebuildState())?.finishedAt !== null
    )
      return;
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
    await this.listing;
    await this.index.close();
  }

  /** The index's answer to a query (`SearchIndex.search`). */
  async search(...args: Parameters<SearchIndex['search']>): Promise<SearchAnswer> {
    await this.init();
    return this.index.search(...args);
  }

  /**
   * Removes a deleted session's messages from the index; a generation of it being indexed now
   * adds nothing more. Returns how many were removed.
   */
  async removeSession(session: SessionRef): Promise<number> {
    const key = sessionKey(session);
    this.removals.set(key, (this.removals.get(key) ?? 0) + 1);
    await this.init();
    return this.index.removeSession(session);
  }

  /**
   * Generations waiting to be indexed, up to 1,000: every search answer says how many (one page
   * of the queue's table on Azure).
   */
  async pendingCount(): Promise<number> {
    return this.queue.count(ANSWER_PENDING_CAP);
  }

  /** What `GET /v1/search/status` shows. */
  async status(): Promise<{
    engine: string;
    messages: number;
    pending: number;
    bytes: number;
    rebuild: RebuildProgress | null;
  }> {
    await this.init();
    const [stats, pending, rebuild] = await Promise.all([
      this.index.stats(),
      this.queue.count(PENDING_CAP),
      this.queue.rebuildState(),
    ]);
    // The listing in this process is further along than what it last wrote down.
    const progress = this.listing === undefined ? rebuild : (this.listed ?? rebuild);
    return { engine: this.index.engine, ...stats, pending, rebuild: progress ?? null };
  }

  /**
   * Asks for a rebuild (durably) and wakes the loop, which empties the index and queues every
   * stored session's generations (`rebuildFromStorage`). A rebuild listing storage already goes on.
   */
  async requestRebuild(): Promise<void> {
    if (this.listing !== undefined) return;
    const state = await this.queue.rebuildState();
    if (state?.finishedAt === null) return;
    await this.queue.setRebuildState({
      startedAt: new Date().toISOString(),
      finishedAt: null,
      sessions: 0,
      generations: 0,
    });
    this.rebuildDue = true;
    this.wakeUp?.();
  }

  /**
   * A fresh index (new, or of an older schema) asks for its build from storage, once per process
   * that opened it: on Azure Functions the instance that finds it missing may not be the one that
   * indexes.
   */
  async init(): Promise<void> {
    this.initialised ??= (async () => {
      if (await this.index.open()) await this.requestRebuild();
    })().catch((error: unknown) => {
      this.initialised = undefined;
      throw error;
    });
    await this.initialised;
  }

  /** Starts the rebuild asked for, unless one is listing storage already in this process. */
  private async checkRebuild(): Promise<void> {
    await this.init();
    if (!this.rebuildDue || this.listing !== undefined) return;
    if (this.nowMs() - this.listingFailedMs < RETRY_MS) return;
    const state = await this.queue.rebuildState();
    this.rebuildDue = false;
    if (state === undefined || state.finishedAt !== null) return;
    this.listing = this.rebuildFromStorage(state.startedAt)
      .catch((error: unknown) => {
        this.listingFailedMs = this.nowMs();
        this.rebuildDue = true;
        this.logger.error(
          { err: coerceError(error) },
          `search index: the rebuild could not list storage; it starts again in ${RETRY_MS / 1000} s`,
        );
        // The loop may be asleep with nothing queued: wake it to try again.
        setTimeout(() => this.wakeUp?.(), RETRY_MS).unref();
      })
      .finally(() => {
        this.listing = undefined;
        this.listed = undefined;
        this.wakeUp?.();
      });
  }

  /**
   * Empties the index and queues every stored session's generations (each generation that is
   * not the base of another: the others' messages are in the ones that extend them). Generations
   * queued meanwhile by uploads stay queued. Cut short (the server stopping, a drain's deadline),
   * it stays asked for and starts over next time.
   */
  private async rebuildFromStorage(startedAt: string): Promise<void> {
    let progress: RebuildProgress = { startedAt, finishedAt: null, sessions: 0, generations: 0 };
    this.epoch += 1;
    await this.index.recreate();
    this.logger.info('search index: rebuilding from storage');
    for (const agent of await listAgents(this.storage)) {
      const scope = { hostId: agent.hostId, agentId: agent.agentId };
      for await (const session of sessionsOf(this.storage, scope)) {
        if (this.stopped || this.pastDeadline()) {
          await this.queue.setRebuildState(progress);
          this.logger.info(
            { sessions: progress.sessions },
            'search index: rebuild cut short; it starts again next time',
          );
          return;
        }
        const rows = await loadGenerationRows(this.storage, scope, session.sessionId);
        for (const row of leaves(rows)) {
          // Stored already: nothing to wait for, and no upload to make way for.
          await this.queue.enqueue({
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
        this.listed = progress;
        if (progress.sessions % 1000 === 0) {
          await this.queue.setRebuildState(progress);
          this.logger.info(
            { sessions: progress.sessions, generations: progress.generations },
            'search index: listing stored sessions to rebuild',
          );
        }
      }
    }
    progress = { ...progress, finishedAt: new Date().toISOString() };
    await this.queue.setRebuildState(progress);
    this.logger.info(
      { sessions: progress.sessions, generations: progress.generations },
      'search index: every stored generation queued',
    );
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let pass: Pass;
      try {
        await this.checkRebuild();
        pass = await this.pass();
      } catch (error) {
        if (error instanceof StoppedError) return;
        this.logger.warn(
          { err: coerceError(error) },
          `search index: the queue could not be read; trying again in ${RETRY_MS / 1000} s`,
        );
        pass = 'failed';
      }
      if (pass === 'progress') continue;
      if (pass === 'empty' && this.listing === undefined)
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      await this.sleepUntilWoken(
        pass === 'failed'
          ? RETRY_MS
          : pass === 'blocked'
            ? Math.max(this.rowGraceMs / 10, 100)
            : undefined,
      );
    }
  }

  /** Indexes the oldest generations waiting, each that can be now. */
  private async pass(): Promise<Pass> {
    const batch = await this.queue.oldest(QUEUE_READ);
    if (batch.length === 0) return 'empty';
    let progressed = false;
    for (const item of batch) {
      if (this.stopped || this.pastDeadline()) break;
      // Its upload is still recording it (this process): the row comes, or the upload fails.
      if (this.recording.has(recordingKey(item))) continue;
      try {
        if (!(await this.index.isIndexed(item)) && !(await this.indexGeneration(item))) continue;
        await this.queue.remove(item.id);
        progressed = true;
      } catch (error) {
        if (error instanceof StoppedError) throw error;
        this.logger.warn(
          {
            err: coerceError(error),
            hostId: item.hostId,
            agentId: item.agentId,
            sessionId: item.sessionId,
          },
          `search index: could not index a generation; trying again in ${RETRY_MS / 1000} s`,
        );
        return 'failed';
      }
    }
    return progressed ? 'progress' : 'blocked';
  }

  /**
   * Adds a generation's messages; false when it has no row yet and may still get one (a shared
   * queue: another instance may be recording it), so it stays queued.
   */
  private async indexGeneration(item: QueuedGeneration): Promise<boolean> {
    const epoch = this.epoch;
    const removals = this.removals.get(sessionKey(item));
    // The session deleted since this generation's reading began: it has nothing more to add.
    const removed = () => this.removals.get(sessionKey(item)) !== removals;
    const scope = { hostId: item.hostId, agentId: item.agentId };
    const rows = await loadGenerationRows(this.storage, scope, item.sessionId);
    // Queued before its row was written: an upload that then failed stored nothing to index.
    if (!rows.has(item.sha256))
      return !(this.queue.shared && Date.now() - item.queuedAtMs < this.rowGraceMs);
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
          if (removed()) return true;
          await this.index.add(item, docs, false);
          docs = [];
        }
      }
    } catch (error) {
      if (error instanceof NotFoundError) return true;
      throw error;
    }
    await this.turn();
    if (this.stopped) throw new StoppedError();
    if (removed()) return true;
    // Emptied meanwhile (a rebuild): its earlier batches are gone, and the rebuild queued it
    // again; marked done now, that copy would be skipped.
    await this.index.add(item, docs, epoch === this.epoch);
    return true;
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

  private pastDeadline(): boolean {
    return this.nowMs() >= this.deadlineMs;
  }

  /** Until something is queued or released, or `ms` pass when given. */
  private async sleepUntilWoken(ms?: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }
}

const sessionKey = (session: SessionRef): string =>
  `${session.hostId}/${session.agentId}/${session.sessionId}`;

const recordingKey = (item: PendingGeneration): string => `${sessionKey(item)}/${item.sha256}`;

/** The generations no other generation of the session extends. */
function leaves(rows: ReadonlyMap<string, GenerationRow>): GenerationRow[] {
  const bases = new Set<string>();
  for (const row of rows.values())
    if (row.generation.extends !== undefined) bases.add(row.generation.extends);
  return [...rows.values()].filter((row) => !bases.has(row.sha256));
}

/** Thrown out of a generation's indexing when the server stops: it stays queued. */
class StoppedError extends Error {}

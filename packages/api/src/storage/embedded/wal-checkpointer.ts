import { Worker } from 'node:worker_threads';

/**
 * The thread's code, plain JavaScript so it runs the same from source and from a bundle. It
 * opens its own connection and, each time it is asked, copies what it can of the WAL into the
 * database file (PASSIVE: never waits for, never blocks a writer), then reports back.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let error = null;
  let walFrames = 0;
  try {
    walFrames = checkpoint.get().log;
  } catch (caught) {
    error = String(caught && caught.message ? caught.message : caught);
  }
  parentPort.postMessage({ error, walFrames });
});
`;

/** At most one checkpoint is asked for per this many milliseconds of commits. */
const INTERVAL_MS = 200;
/**
 * Under writes without a pause the thread's checkpoints never catch up with the end of the WAL,
 * and SQLite only starts the WAL over once one has. Past this many frames (about 64 MB) the
 * store's own commits checkpoint again until the WAL is short.
 */
const MAX_WAL_FRAMES = 16_384;

/**
 * Checkpoints of the embedded database on a thread of their own. SQLite's automatic checkpoint
 * runs inside a commit, on the event loop: every 4 MB of WAL it copied pages into the database
 * file and fsync'd both, and every request waited (bench B3: 13% more deliveries per second
 * without it). The store turns the automatic one off and calls `committed()` after each commit;
 * a checkpoint is then asked for at most every 200 ms. `inline(true)` asks the store for SQLite's
 * own checkpoints while the WAL is long (see `MAX_WAL_FRAMES`), and for good if the thread fails,
 * so the WAL never grows without bound.
 */
export class WalCheckpointer {
  private readonly path: string;
  private readonly inline: (on: boolean) => void;
  private worker: Worker | undefined;
  private running = false;
  /** Commits happened since the last checkpoint was asked for. */
  private pending = false;
  private lastAsked = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Closed, or the thread failed: no more checkpoints are asked for. */
  private stopped = false;
  private inlineOn = false;

  constructor(path: string, inline: (on: boolean) => void) {
    this.path = path;
    this.inline = inline;
  }

  /** After a commit: a checkpoint now, or once the one running ends or the interval is over. */
  committed(): void {
    if (this.stopped) return;
    this.pending = true;
    this.pump();
  }

  /** Lets the thread close its connection and end; it never keeps the process alive. */
  close(): void {
    clearTimeout(this.timer);
    this.stopped = true;
    this.worker?.postMessage('close');
    this.worker = undefined;
  }

  private pump(): void {
    if (this.running || !this.pending || this.stopped) return;
    const wait = this.lastAsked + INTERVAL_MS - performance.now();
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait).unref();
      return;
    }
    this.pending = false;
    this.lastAsked = performance.now();
    this.running = true;
    this.thread().postMessage('checkpoint');
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { path: this.path } });
    worker.unref();
    worker.on('message', (answer: { error: string | null; walFrames: number }) => {
      this.running = false;
      if (answer.error !== null) {
        this.fail();
        return;
      }
      const long = answer.walFrames > MAX_WAL_FRAMES;
      if (long !== this.inlineOn) {
        this.inlineOn = long;
        this.inline(long);
      }
      this.pump(); // commits that came meanwhile
    });
    worker.on('error', () => {
      this.fail();
    });
    this.worker = worker;
    return worker;
  }

  private fail(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.running = false;
    void this.worker?.terminate();
    this.worker = undefined;
    if (!this.inlineOn) this.inline(true);
    this.inlineOn = true;
  }
}

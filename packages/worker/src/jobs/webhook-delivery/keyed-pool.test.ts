import { describe, expect, it } from 'vitest';
import { KeyedPool } from './keyed-pool.ts';

interface Job {
  readonly key: string;
  readonly n: number;
}

/** A pool whose work items finish when the test says: `finish(n)`. */
function controlled(concurrency: number) {
  const started: number[] = [];
  const finished: number[] = [];
  const pending = new Map<number, () => void>();
  let running = 0;
  let most = 0;
  const byKey = new Map<string, number>();
  let overlapped = false;
  const pool = new KeyedPool<Job>(
    concurrency,
    (job) => job.key,
    (job) => {
      started.push(job.n);
      running += 1;
      most = Math.max(most, running);
      byKey.set(job.key, (byKey.get(job.key) ?? 0) + 1);
      if ((byKey.get(job.key) ?? 0) > 1) overlapped = true;
      return new Promise<void>((resolve) => {
        pending.set(job.n, () => {
          running -= 1;
          byKey.set(job.key, (byKey.get(job.key) ?? 0) - 1);
          finished.push(job.n);
          resolve();
        });
      });
    },
  );
  const finish = async (n: number) => {
    const done = pending.get(n);
    if (!done) throw new Error(`job ${String(n)} is not running`);
    pending.delete(n);
    done();
    // Let the pool start what the freed slot allows.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    pool,
    started,
    finished,
    finish,
    most: () => most,
    overlapped: () => overlapped,
    running: () => [...pending.keys()].sort((a, b) => a - b),
  };
}

describe('KeyedPool', () => {
  it('runs at most `concurrency` at once, and starts a new item as soon as a slot is free', async () => {
    const t = controlled(2);
    t.pool.add([1, 2, 3, 4].map((n) => ({ key: `k${String(n)}`, n })));
    expect(t.running()).toEqual([1, 2]);
    expect(t.pool.queued).toBe(2);
    await t.finish(2);
    expect(t.running()).toEqual([1, 3]);
    // Added while others run: it waits only for a slot, not for the items before it to finish.
    t.pool.add([{ key: 'k5', n: 5 }]);
    await t.finish(3);
    expect(t.running()).toEqual([1, 4]);
    await t.finish(4);
    expect(t.running()).toEqual([1, 5]);
    await t.finish(1);
    await t.finish(5);
    await t.pool.idle();
    expect(t.most()).toBe(2);
    expect(t.started).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs the items of one key one after another, in order, also across adds; others overtake', async () => {
    const t = controlled(3);
    t.pool.add([
      { key: 'a', n: 1 },
      { key: 'a', n: 2 },
      { key: 'b', n: 3 },
    ]);
    expect(t.running()).toEqual([1, 3]);
    // An item of key a added later still waits for 2; c, free, starts at once.
    t.pool.add([
      { key: 'a', n: 4 },
      { key: 'c', n: 5 },
    ]);
    expect(t.running()).toEqual([1, 3, 5]);
    await t.finish(1);
    expect(t.running()).toEqual([2, 3, 5]);
    await t.finish(3);
    expect(t.running()).toEqual([2, 5]);
    await t.finish(2);
    expect(t.running()).toEqual([4, 5]);
    await t.finish(4);
    await t.finish(5);
    await t.pool.idle();
    expect(t.started).toEqual([1, 3, 5, 2, 4]);
    expect(t.overlapped()).toBe(false);
  });

  it('says when fewer items wait than asked, and when all have run', async () => {
    const t = controlled(1);
    t.pool.add([1, 2, 3].map((n) => ({ key: `k${String(n)}`, n })));
    let below2 = false;
    const watching = t.pool.below(2).then(() => {
      below2 = true;
    });
    let idle = false;
    const idling = t.pool.idle().then(() => {
      idle = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(below2).toBe(false);
    await t.finish(1);
    await watching;
    expect(below2).toBe(true);
    await t.finish(2);
    expect(idle).toBe(false);
    expect(t.pool.isIdle).toBe(false);
    await t.finish(3);
    await idling;
    expect(idle).toBe(true);
    expect(t.pool.isIdle).toBe(true);
  });

  it('stops starting items once work throws, and idle() rejects with the error', async () => {
    const ran: number[] = [];
    const pool = new KeyedPool<number>(
      1,
      (n) => String(n),
      (n) => {
        ran.push(n);
        return n === 2 ? Promise.reject(new Error('broken')) : Promise.resolve();
      },
    );
    pool.add([1, 2, 3]);
    await expect(pool.idle()).rejects.toThrow('broken');
    expect(ran).toEqual([1, 2]);
    // Nor does it let a caller go on feeding it: waiting for room says what broke.
    await expect(pool.below(5)).rejects.toThrow('broken');
  });
});

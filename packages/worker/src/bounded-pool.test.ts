import { describe, expect, it } from 'vitest';
import { runBounded } from './bounded-pool.ts';

describe('runBounded', () => {
  it('runs every item, never more than the bound at once, starting them in order', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const count = await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 - (n % 3)));
      running -= 1;
    });
    expect(count).toBe(7);
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('starts no new item once told to stop, and lets the ones under way finish', async () => {
    const done: number[] = [];
    let stop = false;
    const count = await runBounded(
      [1, 2, 3, 4, 5],
      2,
      async (n) => {
        if (n === 2) stop = true;
        await Promise.resolve();
        done.push(n);
      },
      () => !stop,
    );
    expect(count).toBe(2);
    expect(done.sort()).toEqual([1, 2]);
  });
});

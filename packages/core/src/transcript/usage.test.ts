import { describe, expect, it } from 'vitest';
import type { UsageRecord } from './summary.ts';
import { combineUsage, sumBuckets } from './usage.ts';

const record = (entryId: string, day: string, model: string, costUsd: number): UsageRecord => ({
  entryId,
  day,
  provider: 'anthropic',
  model,
  input: 1,
  output: 2,
  cacheRead: 3,
  cacheWrite: 4,
  totalTokens: 10,
  costUsd,
});

describe('combineUsage', () => {
  it('counts an entry present in several generations once', () => {
    const snapshot = [record('a', '2026-02-03', 'm1', 0.1), record('b', '2026-02-03', 'm1', 0.2)];
    const archive = [...snapshot, record('c', '2026-02-04', 'm2', 0.4)];
    expect(combineUsage([snapshot, archive])).toEqual([
      {
        day: '2026-02-03',
        provider: 'anthropic',
        model: 'm1',
        messages: 2,
        input: 2,
        output: 4,
        cacheRead: 6,
        cacheWrite: 8,
        totalTokens: 20,
        costUsd: 0.3,
      },
      {
        day: '2026-02-04',
        provider: 'anthropic',
        model: 'm2',
        messages: 1,
        input: 1,
        output: 2,
        cacheRead: 3,
        cacheWrite: 4,
        totalTokens: 10,
        costUsd: 0.4,
      },
    ]);
  });

  it('adds disjoint generations (a .bak before compaction and the live file after)', () => {
    const before = [record('a', '2026-02-03', 'm1', 0.1)];
    const after = [record('z', '2026-02-03', 'm1', 0.1)];
    expect(combineUsage([before, after])[0]?.messages).toBe(2);
  });
});

describe('sumBuckets', () => {
  it('merges the buckets of several sessions per day and model', () => {
    const one = combineUsage([[record('a', '2026-02-03', 'm1', 0.1)]]);
    const two = combineUsage([[record('a', '2026-02-03', 'm1', 0.2)]]);
    expect(sumBuckets([...one, ...two])).toMatchObject([
      { day: '2026-02-03', model: 'm1', messages: 2, costUsd: 0.3 },
    ]);
  });
});

import { roundUsd } from './scanner.ts';
import type { UsageFigures, UsageRecord } from './summary.ts';

/** Tokens and cost of one model on one UTC day. */
export interface UsageBucket extends UsageFigures {
  readonly messages: number;
}

type MutableBucket = { -readonly [K in keyof UsageBucket]: UsageBucket[K] };

/**
 * Adds usage records into one bucket per UTC day and model, in constant memory per bucket.
 * Generations of one session overlap (a snapshot and the later reset archive of the same session
 * hold the same messages), so with `dedupe` each entry id counts once; without it nothing per
 * message is kept, which is right for a session's only generation.
 */
export class UsageCombiner {
  private readonly seen: Set<string> | undefined;
  private readonly buckets = new Map<string, MutableBucket>();

  constructor(options: { dedupe: boolean }) {
    this.seen = options.dedupe ? new Set() : undefined;
  }

  add(record: UsageRecord): void {
    if (this.seen) {
      if (this.seen.has(record.entryId)) return;
      this.seen.add(record.entryId);
    }
    addTo(this.buckets, {
      ...bucketKeyOf(record),
      messages: 1,
      input: record.input,
      output: record.output,
      cacheRead: record.cacheRead,
      cacheWrite: record.cacheWrite,
      totalTokens: record.totalTokens,
      costUsd: record.costUsd,
    });
  }

  result(): UsageBucket[] {
    return sorted(this.buckets);
  }
}

/** Combines whole ledgers at once (each entry id once). */
export function combineUsage(ledgers: Iterable<Iterable<UsageRecord>>): UsageBucket[] {
  const combiner = new UsageCombiner({ dedupe: true });
  for (const ledger of ledgers) for (const record of ledger) combiner.add(record);
  return combiner.result();
}

export type UsageTotals = Omit<UsageBucket, 'day' | 'provider' | 'model'>;

/** Every bucket added up: the totals of a session or of a usage report. */
export function sumUsage(buckets: Iterable<UsageBucket>): UsageTotals {
  const totals = {
    messages: 0,
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 0,
    costUsd: 0,
  };
  for (const bucket of buckets) accumulate(totals, bucket);
  return totals;
}

/** Adds buckets of several sessions into one bucket per day and model. */
export function sumBuckets(buckets: Iterable<UsageBucket>): UsageBucket[] {
  const merged = new Map<string, MutableBucket>();
  for (const bucket of buckets) addTo(merged, bucket);
  return sorted(merged);
}

function bucketKeyOf(item: { day: string; provider: string; model: string }) {
  return { day: item.day, provider: item.provider, model: item.model };
}

function addTo(buckets: Map<string, MutableBucket>, item: UsageBucket): void {
  const key = `${item.day}\u0000${item.provider}\u0000${item.model}`;
  const bucket = buckets.get(key);
  if (!bucket) {
    buckets.set(key, { ...item });
    return;
  }
  accumulate(bucket, item);
}

function accumulate(
  target: { -readonly [K in keyof UsageTotals]: number },
  item: UsageTotals,
): void {
  target.messages += item.messages;
  target.input += item.input;
  target.output += item.output;
  target.cacheRead += item.cacheRead;
  target.cacheWrite += item.cacheWrite;
  target.totalTokens += item.totalTokens;
  target.costUsd = roundUsd(target.costUsd + item.costUsd);
}

function sorted(buckets: Map<string, MutableBucket>): UsageBucket[] {
  return [...buckets.values()].sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.provider.localeCompare(b.provider) ||
      a.model.localeCompare(b.model),
  );
}

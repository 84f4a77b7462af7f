import { roundUsd } from './scanner.ts';
import type { UsageRecord } from './summary.ts';

/** Tokens and cost of one model on one UTC day. */
export interface UsageBucket {
  readonly day: string;
  readonly provider: string;
  readonly model: string;
  readonly messages: number;
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
  readonly totalTokens: number;
  readonly costUsd: number;
}

type MutableBucket = { -readonly [K in keyof UsageBucket]: UsageBucket[K] };

/**
 * Combines the usage records of several generations of one session. Generations overlap (a
 * snapshot and the later reset archive of the same session hold the same messages), so each
 * entry id counts once; without this, every re-upload would multiply the session's cost.
 */
export function combineUsage(ledgers: Iterable<readonly UsageRecord[]>): UsageBucket[] {
  const seen = new Set<string>();
  const records: UsageRecord[] = [];
  for (const ledger of ledgers) {
    for (const record of ledger) {
      if (seen.has(record.entryId)) continue;
      seen.add(record.entryId);
      records.push(record);
    }
  }
  return bucketize(records.map((record) => ({ ...record, messages: 1 })));
}

/** Adds buckets of several sessions into one bucket per day and model. */
export function sumBuckets(buckets: Iterable<UsageBucket>): UsageBucket[] {
  return bucketize(buckets);
}

function bucketize(
  items: Iterable<Omit<UsageBucket, 'messages'> & { messages: number }>,
): UsageBucket[] {
  const buckets = new Map<string, MutableBucket>();
  for (const item of items) {
    const key = `${item.day}\u0000${item.provider}\u0000${item.model}`;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = {
        day: item.day,
        provider: item.provider,
        model: item.model,
        messages: 0,
        input: 0,
        output: 0,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: 0,
        costUsd: 0,
      };
      buckets.set(key, bucket);
    }
    bucket.messages += item.messages;
    bucket.input += item.input;
    bucket.output += item.output;
    bucket.cacheRead += item.cacheRead;
    bucket.cacheWrite += item.cacheWrite;
    bucket.totalTokens += item.totalTokens;
    bucket.costUsd = roundUsd(bucket.costUsd + item.costUsd);
  }
  return [...buckets.values()].sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.provider.localeCompare(b.provider) ||
      a.model.localeCompare(b.model),
  );
}

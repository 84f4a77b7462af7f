/**
 * Runs `work` over `items` with at most `concurrency` at a time, in order, and stops starting new
 * ones once `keepGoing()` says no (the ones under way finish). Returns how many were started.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  keepGoing: () => boolean = () => true,
): Promise<number> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && keepGoing()) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return next;
}

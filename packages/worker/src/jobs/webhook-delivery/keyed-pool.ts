/**
 * Runs `work` on items as they are added, at most `concurrency` at once: items of one key one
 * after another in the order they were added, items of different keys side by side. Unlike a
 * batch run to its end, items added while others are under way start as soon as a slot is free,
 * so the webhook delivery keeps every slot busy across claims.
 */
export class KeyedPool<T> {
  private readonly concurrency: number;
  private readonly keyOf: (item: T) => string;
  private readonly work: (item: T) => Promise<void>;
  private readonly waiting: T[] = [];
  private readonly busyKeys = new Set<string>();
  private running = 0;
  private failure: { error: unknown } | undefined;
  private watchers: (() => void)[] = [];

  /** `work` should not throw; if it does, the pool stops starting items and `idle()` rejects. */
  constructor(concurrency: number, keyOf: (item: T) => string, work: (item: T) => Promise<void>) {
    this.concurrency = Math.max(1, concurrency);
    this.keyOf = keyOf;
    this.work = work;
  }

  add(items: readonly T[]): void {
    this.waiting.push(...items);
    this.pump();
  }

  /** Items added and not started yet. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Nothing waiting and nothing under way. */
  get isIdle(): boolean {
    return this.waiting.length === 0 && this.running === 0;
  }

  /** Resolves once fewer than `count` items wait to start; rejects with what `work` threw, if it did. */
  async below(count: number): Promise<void> {
    while (this.waiting.length >= count && this.failure === undefined) await this.change();
    if (this.failure) throw this.failure.error;
  }

  /** Resolves once every item added has run; rejects with what `work` threw, if it did. */
  async idle(): Promise<void> {
    while (!this.isIdle && this.failure === undefined) await this.change();
    if (this.failure) throw this.failure.error;
  }

  private change(): Promise<void> {
    return new Promise((resolve) => this.watchers.push(resolve));
  }

  private notify(): void {
    const watchers = this.watchers;
    this.watchers = [];
    for (const wake of watchers) wake();
  }

  /** Starts the oldest items whose key is free, while slots are. */
  private pump(): void {
    let changed = false;
    // Keys passed over in this scan: a later item of such a key must not overtake it.
    const held = new Set<string>();
    for (let n = 0; n < this.waiting.length && this.running < this.concurrency;) {
      if (this.failure) break;
      const item = this.waiting[n] as T;
      const key = this.keyOf(item);
      if (this.busyKeys.has(key) || held.has(key)) {
        held.add(key);
        n += 1;
        continue;
      }
      this.waiting.splice(n, 1);
      this.busyKeys.add(key);
      this.running += 1;
      changed = true;
      void this.start(item, key);
    }
    if (changed) this.notify();
  }

  private async start(item: T, key: string): Promise<void> {
    try {
      await this.work(item);
    } catch (error) {
      this.failure ??= { error };
    } finally {
      this.running -= 1;
      this.busyKeys.delete(key);
      this.pump();
      this.notify();
    }
  }
}

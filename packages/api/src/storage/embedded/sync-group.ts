/**
 * Group commit for fsync: everyone who asks for a sync of the same file or folder while one is
 * waiting to start shares it. A sync already running may have started before the caller's write,
 * so a caller never joins that one; it waits for the next. With uploads running side by side,
 * the folder of an agent (or the WAL of the database) is synced once for several writers.
 */
export class SyncGroup {
  private readonly slots = new Map<
    string,
    { queued?: Promise<void> | undefined; running?: Promise<void> | undefined }
  >();
  private readonly syncNow: (target: string) => Promise<void>;

  constructor(syncNow: (target: string) => Promise<void>) {
    this.syncNow = syncNow;
  }

  /** Resolves once everything written to `target` before the call is on disk. */
  sync(target: string): Promise<void> {
    let slot = this.slots.get(target);
    if (slot === undefined) {
      slot = {};
      this.slots.set(target, slot);
    }
    if (slot.queued !== undefined) return slot.queued;
    const own = slot;
    const next: Promise<void> = (own.running ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        own.queued = undefined;
        own.running = next;
        await this.syncNow(target);
      })
      .finally(() => {
        if (own.running === next) own.running = undefined;
        if (own.running === undefined && own.queued === undefined && this.slots.get(target) === own)
          this.slots.delete(target);
      });
    own.queued = next;
    return next;
  }
}

import type { WebhookSettlement } from '@nexus/core';

/** The API takes at most this many results per settle request. */
const MAX_PER_REQUEST = 100;

/**
 * Reports delivery results to the API as they come in, without holding up the next delivery: a
 * result goes at once when no report is under way, else together with the others that came in
 * meanwhile, in the report that starts the moment the one under way is answered. Bounded: `room()`
 * waits while `limit` results are unreported, so a slow API slows delivery down instead of growing
 * what a crash would leave unreported (those items come back when their leases end).
 */
export class SettleQueue {
  private readonly send: (batch: readonly WebhookSettlement[]) => Promise<void>;
  private readonly limit: number;
  private waiting: WebhookSettlement[] = [];
  private sending = 0;
  private flushing: Promise<void> | undefined;
  private roomWaiters: (() => void)[] = [];

  /** `send` reports one batch and never throws (it retries and logs on its own). */
  constructor(send: (batch: readonly WebhookSettlement[]) => Promise<void>, limit: number) {
    this.send = send;
    this.limit = Math.max(1, limit);
  }

  add(settlement: WebhookSettlement): void {
    this.waiting.push(settlement);
    this.flushing ??= this.flush();
  }

  /** Results not yet confirmed by the API: waiting, or in the report under way. */
  get unreported(): number {
    return this.waiting.length + this.sending;
  }

  /** Resolves once fewer than `limit` results are unreported. */
  async room(): Promise<void> {
    while (this.unreported >= this.limit) {
      await new Promise<void>((resolve) => {
        this.roomWaiters.push(resolve);
      });
    }
  }

  /** Resolves once every result added so far was reported. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_PER_REQUEST);
        this.sending = batch.length;
        await this.send(batch);
        this.sending = 0;
        const waiters = this.roomWaiters;
        this.roomWaiters = [];
        for (const wake of waiters) wake();
      }
    } finally {
      this.sending = 0;
      this.flushing = undefined;
    }
  }
}

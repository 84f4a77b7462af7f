import { scopeKey, type AgentScope } from '@nexus/core';

/**
 * Wakes claims that wait for work (`POST /v1/webhooks/claim` with `waitSeconds`) the moment an
 * item of their scope becomes due in this process: a webhook accepted, or one replayed. Another
 * instance's arrivals (Azure Functions scaled out) are found by the waiting claim's own re-check.
 */
export class QueueSignal {
  private readonly waiting = new Map<string, Set<() => void>>();

  notify(scope: AgentScope): void {
    const wakers = this.waiting.get(scopeKey(scope));
    if (!wakers) return;
    this.waiting.delete(scopeKey(scope));
    for (const wake of wakers) wake();
  }

  /** Resolves when one of `scopes` is notified, after `ms`, or when `signal` aborts. */
  wait(scopes: readonly AgentScope[], ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const keys = scopes.map(scopeKey);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        for (const key of keys) {
          const wakers = this.waiting.get(key);
          wakers?.delete(done);
          if (wakers?.size === 0) this.waiting.delete(key);
        }
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      for (const key of keys) {
        const wakers = this.waiting.get(key) ?? new Set();
        wakers.add(done);
        this.waiting.set(key, wakers);
      }
    });
  }
}

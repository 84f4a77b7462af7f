/**
 * The bytes of webhook bodies the public route reads at once. Anyone can post to `/hooks`, and a
 * body is read whole before its signature can be checked: without a bound, a few large unsigned
 * posts at once took the API from 146 to 483 MB. Beyond it the sender is told to retry (503).
 */
export class ReadBudget {
  private readonly limit: number;
  private used = 0;

  constructor(limitBytes: number) {
    this.limit = limitBytes;
  }

  /** Reserves `bytes`; `undefined` when that would pass the limit (one read always fits). */
  take(bytes: number): (() => void) | undefined {
    if (this.used > 0 && this.used + bytes > this.limit) return undefined;
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }
}

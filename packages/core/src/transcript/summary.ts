/** What one transcript (one generation) says about itself, computed in a single streaming pass. */
export interface TokenTotals {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  total: number;
}

export interface TranscriptSummary {
  /** The header's `id`: the canonical session id. */
  readonly sessionId: string;
  readonly headerVersion: number | null;
  readonly parentSession: string | null;
  readonly firstTimestamp: string | null;
  readonly lastTimestamp: string | null;
  readonly bytes: number;
  readonly lines: number;
  readonly entriesByType: Readonly<Record<string, number>>;
  readonly messagesByRole: Readonly<Record<string, number>>;
  readonly toolCalls: Readonly<Record<string, number>>;
  readonly models: readonly string[];
  readonly providers: readonly string[];
  readonly tokens: Readonly<TokenTotals>;
  readonly costUsd: number;
  readonly compactions: number;
  /** Assistant stop reasons that mean a turn went wrong: `error`, `aborted`. */
  readonly errorStops: number;
  readonly abortedStops: number;
  /** The first user message's text, shortened (`titleOf`); absent from summaries before 0.5. */
  readonly title?: string | null;
}

/**
 * One assistant message's usage, kept per entry id so that generations of the same session
 * (a live snapshot, its later reset archive, a `.bak` before compaction) can be combined without
 * counting the same message twice.
 */
export interface UsageRecord extends UsageFigures {
  readonly entryId: string;
}

/** Tokens and cost of one model on one UTC day: what a usage record and a usage bucket share. */
export interface UsageFigures {
  /** UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  readonly provider: string;
  readonly model: string;
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
  readonly totalTokens: number;
  readonly costUsd: number;
}

export function emptyTokens(): TokenTotals {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 };
}

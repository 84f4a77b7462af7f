import type { BenchRow } from './row.ts';

export const MB = 1024 * 1024;
export const KEY = 'bench-key-0123456789';

export const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

/**
 * A benchmark's setting from the environment, or `fallback`: `count`, a whole number from 0;
 * `positive`, any number above 0. Anything else stops the bench, saying so.
 */
export function envNumber(name: string, fallback: number, kind: 'count' | 'positive'): number {
  const text = process.env[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  const fits =
    kind === 'count' ? Number.isInteger(value) && value >= 0 : Number.isFinite(value) && value > 0;
  if (!fits || text.trim() === '')
    throw new Error(
      `${name} must be ${kind === 'count' ? 'a whole number' : 'a positive number'}; got ${JSON.stringify(text)}`,
    );
  return value;
}

/** What every benchmark gets: where to work, how big, and where its rows and raw figures go. */
export interface BenchContext {
  /** A folder of its own, emptied between benchmarks. */
  readonly root: string;
  /** Smaller data: a smoke run of the benchmark code itself. */
  readonly quick: boolean;
  /** Uploads in flight for B1, B1a and their baseline (BENCH_CONCURRENCY). */
  readonly concurrency: number;
  readonly rows: BenchRow[];
  readonly raw: Record<string, unknown>;
  readonly log: (text: string) => void;
}

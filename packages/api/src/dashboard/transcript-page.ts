import { MIRROR_MODEL, MIRROR_PROVIDER, type ByteSource } from '@nexus/core';

/** Entries shown per page of a session. */
export const ENTRIES_PER_PAGE = 100;

/** One line of a transcript, parsed (or not: a line that is not a JSON object is shown as is). */
export interface PageEntry {
  /** 0-based line number in the generation. */
  readonly index: number;
  readonly value: Readonly<Record<string, unknown>> | undefined;
  /** The line itself when it is not a JSON object (cut to `MAX_RAW_CHARS`). */
  readonly raw?: string;
  /** Cost and tokens of the session up to and including this entry. */
  readonly running: RunningTotals;
}

export interface RunningTotals {
  readonly costUsd: number;
  readonly tokens: number;
}

export interface TranscriptPage {
  /** Index of the first entry shown. */
  readonly start: number;
  readonly entries: readonly PageEntry[];
  /** Whether lines follow the page. */
  readonly more: boolean;
}

const MAX_RAW_CHARS = 2000;

/**
 * One page of a transcript: lines `[start, start + limit)`, or the page that holds the entry
 * `entryId` (a permalink). Reads the generation from its start and stops after the page, so the
 * first page of a 50 MB transcript costs only its first bytes; lines before the page are parsed
 * only when they carry usage, for the running totals.
 */
export async function readTranscriptPage(
  body: ByteSource,
  options: { start?: number; limit?: number; entryId?: string },
): Promise<TranscriptPage> {
  const limit = options.limit ?? ENTRIES_PER_PAGE;
  let start = Math.max(0, options.start ?? 0);
  // A permalink: remember every line's totals on the way, then cut the page around the entry.
  const seekId = options.entryId === undefined ? undefined : `"id":"${options.entryId}"`;
  const window: PageEntry[] = [];
  let totals: RunningTotals = { costUsd: 0, tokens: 0 };
  let index = 0;
  let found = seekId === undefined;
  for await (const line of linesOf(body)) {
    if (seekId !== undefined && !found) {
      const entry = parseLine(line);
      totals = addUsage(totals, entry.value);
      window.push({ index, ...entry, running: totals });
      if (window.length > limit) window.shift();
      if (line.includes(seekId) && entry.value?.['id'] === options.entryId) {
        found = true;
        start = index - (index % limit);
        while (window.length > 0 && (window[0]?.index ?? 0) < start) window.shift();
      }
      index += 1;
      continue;
    }
    if (index < start) {
      if (line.includes('"usage"')) totals = addUsage(totals, parseLine(line).value);
      index += 1;
      continue;
    }
    if (index >= start + limit) return { start, entries: window, more: true };
    const entry = parseLine(line);
    totals = addUsage(totals, entry.value);
    window.push({ index, ...entry, running: totals });
    index += 1;
  }
  if (!found) return { start: 0, entries: [], more: false };
  return { start, entries: window, more: false };
}

function parseLine(line: string): Pick<PageEntry, 'value' | 'raw'> {
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return { value: value as Record<string, unknown> };
  } catch {
    // shown as the raw line below
  }
  return { value: undefined, raw: line.slice(0, MAX_RAW_CHARS) };
}

function addUsage(
  totals: RunningTotals,
  entry: Record<string, unknown> | undefined,
): RunningTotals {
  const message = entry?.['message'];
  if (entry?.['type'] !== 'message' || typeof message !== 'object' || message === null)
    return totals;
  const m = message as Record<string, unknown>;
  if (m['role'] !== 'assistant') return totals;
  if (m['provider'] === MIRROR_PROVIDER && m['model'] === MIRROR_MODEL) return totals;
  const usage = m['usage'];
  if (typeof usage !== 'object' || usage === null) return totals;
  const u = usage as Record<string, unknown>;
  const cost = typeof u['cost'] === 'object' && u['cost'] !== null ? u['cost'] : {};
  const total = (cost as Record<string, unknown>)['total'];
  const tokens = u['totalTokens'];
  return {
    costUsd: totals.costUsd + (typeof total === 'number' && Number.isFinite(total) ? total : 0),
    tokens: totals.tokens + (typeof tokens === 'number' && Number.isFinite(tokens) ? tokens : 0),
  };
}

/** The lines of a byte stream as text (a last line without its newline included). */
export async function* linesOf(body: ByteSource): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of body) {
    const text = pending + decoder.decode(chunk, { stream: true });
    let from = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', from)) {
      yield text.slice(from, newline);
      from = newline + 1;
    }
    pending = text.slice(from);
  }
  pending += decoder.decode();
  if (pending !== '') yield pending;
}

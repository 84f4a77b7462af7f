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

/** Where a page begins in a generation: its first line, that line's byte offset, the totals before it. */
export interface Checkpoint {
  readonly index: number;
  readonly offset: number;
  readonly totals: RunningTotals;
}

/**
 * One page of a transcript: lines `[start, start + limit)`, or the page that holds the entry
 * `entryId` (a permalink). Reads the generation from its start (or from a checkpoint `from`,
 * `body` then starting at its offset) and stops after the page, so the first page of a 50 MB
 * transcript costs only its first bytes. Lines before the page stay bytes: only those that carry
 * usage are looked into, for the running totals. Each page boundary passed is told to
 * `onCheckpoint`, so a later page can start there.
 */
export async function readTranscriptPage(
  body: ByteSource,
  options: {
    start?: number;
    limit?: number;
    entryId?: string;
    from?: Checkpoint;
    onCheckpoint?: (checkpoint: Checkpoint) => void;
  },
): Promise<TranscriptPage> {
  const limit = options.limit ?? ENTRIES_PER_PAGE;
  let start = Math.max(0, options.start ?? 0);
  let offset = options.from?.offset ?? 0;
  // A permalink: keep the lines of the page under way as bytes (copies: the stream may reuse a
  // chunk's memory), with their totals, until the entry shows.
  const seek =
    options.entryId === undefined ? undefined : Buffer.from(`"id":"${options.entryId}"`, 'utf8');
  const recent: { index: number; bytes: Buffer; running: RunningTotals }[] = [];
  const entries: PageEntry[] = [];
  let totals: RunningTotals = options.from?.totals ?? { costUsd: 0, tokens: 0 };
  let index = options.from?.index ?? 0;
  let found = seek === undefined;
  for await (const lines of lineBatchesOf(body)) {
    for (const line of lines) {
      if (index % limit === 0) options.onCheckpoint?.({ index, offset, totals });
      offset += line.length + 1;
      if (!found) {
        if (index % limit === 0) recent.length = 0;
        totals = addUsage(totals, line);
        recent.push({ index, bytes: Buffer.from(line), running: totals });
        if (
          seek !== undefined &&
          line.includes(seek) &&
          parseLine(line).value?.['id'] === options.entryId
        ) {
          found = true;
          start = index - (index % limit);
          for (const kept of recent)
            entries.push({ index: kept.index, ...parseLine(kept.bytes), running: kept.running });
        }
      } else if (index < start) {
        totals = addUsage(totals, line);
      } else if (index >= start + limit) {
        return { start, entries, more: true };
      } else {
        const entry = parseLine(line);
        totals = addUsage(totals, line, entry.value);
        entries.push({ index, ...entry, running: totals });
      }
      index += 1;
    }
  }
  if (!found) return { start: 0, entries: [], more: false };
  return { start, entries, more: false };
}

/**
 * Every entry of a transcript with its running totals, a batch at a time (about `batch` entries):
 * what an export walks. One batch of parsed lines in memory.
 */
export async function* pageEntries(
  body: ByteSource,
  batch = ENTRIES_PER_PAGE,
): AsyncGenerator<PageEntry[]> {
  let totals: RunningTotals = { costUsd: 0, tokens: 0 };
  let index = 0;
  let entries: PageEntry[] = [];
  for await (const lines of lineBatchesOf(body)) {
    for (const line of lines) {
      const entry = parseLine(line);
      totals = addUsage(totals, line, entry.value);
      entries.push({ index, ...entry, running: totals });
      index += 1;
      if (entries.length >= batch) {
        yield entries;
        entries = [];
      }
    }
  }
  if (entries.length > 0) yield entries;
}

const decoder = new TextDecoder('utf-8');

function parseLine(bytes: Uint8Array): Pick<PageEntry, 'value' | 'raw'> {
  const line = decoder.decode(bytes);
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return { value: value as Record<string, unknown> };
  } catch {
    // shown as the raw line below
  }
  return { value: undefined, raw: line.slice(0, MAX_RAW_CHARS) };
}

/**
 * Searched without its opening quote, as latin1 text: Node's search skips ahead on the first
 * character, and `"` is on every other byte of JSON (3× slower with it, measured).
 */
const USAGE = 'usage":{';
const MESSAGE_START = Buffer.from('{"type":"message"');
const ASSISTANT = 'role":"assistant"';
const MIRROR = `${MIRROR_MODEL}"`;

/**
 * The totals after one more line. A line without `"usage":{` adds nothing and is not decoded. An
 * assistant message as OpenClaw writes it (type first, one role, one usage object) has only its
 * usage object parsed; any other line with usage is parsed whole (or `parsed` is used).
 */
function addUsage(
  totals: RunningTotals,
  line: Buffer,
  parsed?: Readonly<Record<string, unknown>>,
): RunningTotals {
  const at = usageAt(line, 0);
  if (at === -1) return totals;
  if (
    parsed === undefined &&
    line.subarray(0, MESSAGE_START.length).equals(MESSAGE_START) &&
    usageAt(line, at + 1) === -1 &&
    occursOnce(line, ASSISTANT) &&
    // A possible delivery mirror is decided on the parsed line.
    !line.includes(MIRROR, 0, 'latin1')
  ) {
    const open = at + USAGE.length - 1;
    const end = objectEnd(line, open);
    if (end !== -1) {
      try {
        return addUsageOf(totals, JSON.parse(decoder.decode(line.subarray(open, end))));
      } catch {
        // parsed whole below
      }
    }
  }
  const value = parsed ?? parseLine(line).value;
  const message = value?.['message'];
  if (value?.['type'] !== 'message' || typeof message !== 'object' || message === null)
    return totals;
  const m = message as Record<string, unknown>;
  if (m['role'] !== 'assistant') return totals;
  if (m['provider'] === MIRROR_PROVIDER && m['model'] === MIRROR_MODEL) return totals;
  return addUsageOf(totals, m['usage']);
}

function addUsageOf(totals: RunningTotals, usage: unknown): RunningTotals {
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

/** Where the key `"usage":{` starts after `from` (at its `u`), or -1. */
function usageAt(line: Buffer, from: number): number {
  for (
    let at = line.indexOf(USAGE, from, 'latin1');
    at !== -1;
    at = line.indexOf(USAGE, at + 1, 'latin1')
  )
    if (at > 0 && line[at - 1] === 0x22) return at;
  return -1;
}

function occursOnce(line: Buffer, part: string): boolean {
  const first = line.indexOf(part, 0, 'latin1');
  return first !== -1 && line.indexOf(part, first + 1, 'latin1') === -1;
}

/** The index after the `}` closing the object that opens at `open`, skipping strings; -1 if none. */
function objectEnd(line: Buffer, open: number): number {
  let depth = 0;
  for (let i = open; i < line.length; i += 1) {
    const byte = line[i];
    if (byte === 0x22) {
      // a string: to its closing quote, past escapes
      for (i += 1; i < line.length && line[i] !== 0x22; i += 1) if (line[i] === 0x5c) i += 1;
    } else if (byte === 0x7b) depth += 1;
    else if (byte === 0x7d) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The lines of a byte stream, as bytes, a chunk's worth at a time (a generator's every step costs
 * a promise: one per line would cost more than reading them); a last line without its newline
 * included.
 */
export async function* lineBatchesOf(body: ByteSource): AsyncGenerator<Buffer[]> {
  // A line begun in earlier chunks, kept as its parts: joined once, when it ends (a 64 MB line
  // in 64 KB chunks would otherwise be copied a thousand times).
  let pending: Buffer[] = [];
  for await (const chunk of body) {
    const here = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: Buffer[] = [];
    let from = 0;
    let newline = here.indexOf(0x0a);
    if (pending.length > 0 && newline !== -1) {
      lines.push(Buffer.concat([...pending, here.subarray(0, newline)]));
      pending = [];
      from = newline + 1;
      newline = here.indexOf(0x0a, from);
    }
    for (; newline !== -1; newline = here.indexOf(0x0a, from)) {
      lines.push(here.subarray(from, newline));
      from = newline + 1;
    }
    // A copy: the stream may reuse its chunk's memory.
    if (from < here.length) pending.push(Buffer.from(here.subarray(from)));
    if (lines.length > 0) yield lines;
  }
  if (pending.length > 0) yield [Buffer.concat(pending)];
}

/**
 * Page starts of recently read generations (content never changes under a SHA-256), so paging
 * through a large transcript reads each byte before the page once, not once per page. A few
 * hundred numbers per generation; the least recently used generation goes first.
 */
export class CheckpointCache {
  private readonly byKey = new Map<string, Map<number, Checkpoint>>();
  private readonly maxGenerations: number;

  constructor(maxGenerations = 64) {
    this.maxGenerations = maxGenerations;
  }

  /** The nearest known page start at or before line `index`. */
  nearest(key: string, index: number): Checkpoint | undefined {
    const known = this.byKey.get(key);
    if (known === undefined) return undefined;
    this.byKey.delete(key);
    this.byKey.set(key, known);
    let best: Checkpoint | undefined;
    for (const checkpoint of known.values())
      if (checkpoint.index <= index && (best === undefined || checkpoint.index > best.index))
        best = checkpoint;
    return best;
  }

  note(key: string, checkpoint: Checkpoint): void {
    let known = this.byKey.get(key);
    if (known === undefined) {
      known = new Map();
      this.byKey.set(key, known);
      const oldest = this.byKey.keys().next().value;
      if (this.byKey.size > this.maxGenerations && oldest !== undefined) this.byKey.delete(oldest);
    }
    known.set(checkpoint.index, checkpoint);
  }
}

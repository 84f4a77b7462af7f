import { ValidationError } from '../errors.ts';
import {
  emptyTokens,
  type TokenTotals,
  type TranscriptSummary,
  type UsageRecord,
} from './summary.ts';

/** A transcript that is not a valid OpenClaw JSONL transcript; `line` is 1-based. */
export class TranscriptError extends ValidationError {
  readonly line: number | undefined;
  constructor(code: string, message: string, line?: number) {
    super(code, line === undefined ? message : `Line ${line}: ${message}`);
    this.line = line;
  }
}

export interface ScannerOptions {
  /** Longest line accepted, in bytes; bounds memory for one line. */
  readonly maxLineBytes?: number;
  /**
   * Receives each assistant message's usage as it is read. The scanner keeps none of them, so
   * its memory does not grow with the number of messages.
   */
  readonly onUsage?: (record: UsageRecord) => void;
  /**
   * Continue after a transcript summarised by this (one that ends at a line boundary): the bytes
   * fed are the ones that follow it, and `finish` summarises the whole. Line numbers go on from
   * it, so errors name the whole transcript's lines.
   */
  readonly resume?: TranscriptSummary;
}

const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;
/** OpenClaw copies delivered messages into the transcript with zero usage (OPENCLAW.md). */
export const MIRROR_PROVIDER = 'openclaw';
export const MIRROR_MODEL = 'delivery-mirror';
const MAX_DATE_MS = 8.64e15;

type Json = Record<string, unknown>;

/**
 * Validates and summarises an OpenClaw transcript fed in chunks of any size, holding at most one
 * line in memory. Rules (OPENCLAW.md, "Transcript format"): UTF-8 JSONL; the first line is the
 * session header `{"type":"session","id":...}` (any version); every other line is a JSON object;
 * unknown entry types are kept and counted, never rejected; the last line may lack its newline;
 * blank lines are tolerated.
 */
export class TranscriptScanner {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly maxLineBytes: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private lineNumber = 0;
  private bytes = 0;

  private sessionId: string | undefined;
  private headerVersion: number | null = null;
  private parentSession: string | null = null;
  private firstMs = Number.POSITIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly entriesByType: Record<string, number> = {};
  private readonly messagesByRole: Record<string, number> = {};
  private readonly toolCalls: Record<string, number> = {};
  private readonly models = new Set<string>();
  private readonly providers = new Set<string>();
  private readonly tokens: TokenTotals = emptyTokens();
  private costUsd = 0;
  private errorStops = 0;
  private abortedStops = 0;
  /**
   * `null` until the first user message with text; `undefined` when resumed from a summary made
   * before titles existed: the first message was in the bytes not scanned, so it stays unknown
   * (a later user message is not the first).
   */
  private title: string | null | undefined = null;
  private readonly onUsage: ((record: UsageRecord) => void) | undefined;
  /** Strings that repeat on every message (day, provider, model) are kept once. */
  private readonly interned = new Map<string, string>();

  constructor(options: ScannerOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.onUsage = options.onUsage;
    if (options.resume) this.resumeFrom(options.resume);
  }

  private resumeFrom(summary: TranscriptSummary): void {
    this.sessionId = summary.sessionId;
    this.headerVersion = summary.headerVersion;
    this.parentSession = summary.parentSession;
    this.lineNumber = summary.lines;
    this.bytes = summary.bytes;
    if (summary.firstTimestamp !== null) this.firstMs = Date.parse(summary.firstTimestamp);
    if (summary.lastTimestamp !== null) this.lastMs = Date.parse(summary.lastTimestamp);
    Object.assign(this.entriesByType, summary.entriesByType);
    Object.assign(this.messagesByRole, summary.messagesByRole);
    Object.assign(this.toolCalls, summary.toolCalls);
    for (const model of summary.models) this.models.add(model);
    for (const provider of summary.providers) this.providers.add(provider);
    Object.assign(this.tokens, summary.tokens);
    this.costUsd = summary.costUsd;
    this.errorStops = summary.errorStops;
    this.abortedStops = summary.abortedStops;
    this.title = summary.title;
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    let start = 0;
    const last = chunk.lastIndexOf(NEWLINE);
    if (last !== -1 && this.pendingBytes > 0) {
      // The line begun in an earlier chunk ends here.
      start = chunk.indexOf(NEWLINE) + 1;
      this.takeLine(chunk.subarray(0, start - 1));
    }
    if (last >= start) this.takeLines(chunk.subarray(start, last));
    if (last + 1 < chunk.byteLength) this.hold(chunk.subarray(last + 1));
  }

  /**
   * Whole lines, decoded in one call and split as text: one UTF-8 check per chunk instead of one
   * per line. If the bytes are not UTF-8, they are taken line by line again to name the line.
   */
  private takeLines(bytes: Uint8Array): void {
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      let start = 0;
      for (;;) {
        const newline = bytes.indexOf(NEWLINE, start);
        this.takeLine(bytes.subarray(start, newline === -1 ? bytes.byteLength : newline));
        if (newline === -1) return;
        start = newline + 1;
      }
    }
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      this.lineNumber += 1;
      this.takeText(text.slice(start, newline === -1 ? text.length : newline));
      if (newline === -1) return;
      start = newline + 1;
    }
  }

  /** Ends the scan; throws `TranscriptError` when the whole transcript is not acceptable. */
  finish(): { summary: TranscriptSummary } {
    if (this.pendingBytes > 0) this.takeLine(new Uint8Array(0));
    if (this.sessionId === undefined) {
      throw new TranscriptError(
        'empty_transcript',
        'The transcript is empty; send a JSONL file whose first line is the session header {"type":"session","id":...}.',
      );
    }
    return {
      summary: {
        sessionId: this.sessionId,
        headerVersion: this.headerVersion,
        parentSession: this.parentSession,
        firstTimestamp: Number.isFinite(this.firstMs) ? new Date(this.firstMs).toISOString() : null,
        lastTimestamp: Number.isFinite(this.lastMs) ? new Date(this.lastMs).toISOString() : null,
        bytes: this.bytes,
        lines: this.lineNumber,
        entriesByType: this.entriesByType,
        messagesByRole: this.messagesByRole,
        toolCalls: this.toolCalls,
        models: [...this.models].sort(),
        providers: [...this.providers].sort(),
        tokens: this.tokens,
        costUsd: roundUsd(this.costUsd),
        compactions: this.entriesByType['compaction'] ?? 0,
        errorStops: this.errorStops,
        abortedStops: this.abortedStops,
        ...(this.title === undefined ? {} : { title: this.title }),
      },
    };
  }

  private hold(part: Uint8Array): void {
    this.pendingBytes += part.byteLength;
    if (this.pendingBytes > this.maxLineBytes) {
      throw new TranscriptError(
        'line_too_long',
        `a line is longer than ${this.maxLineBytes} bytes; transcripts are JSONL, one entry per line.`,
        this.lineNumber + 1,
      );
    }
    // Copy: the caller may reuse its buffer after push() returns.
    this.pending.push(part.slice());
  }

  private takeLine(tail: Uint8Array): void {
    this.lineNumber += 1;
    let line = tail;
    if (this.pendingBytes > 0) {
      if (this.pendingBytes + tail.byteLength > this.maxLineBytes) {
        throw new TranscriptError(
          'line_too_long',
          `the line is longer than ${this.maxLineBytes} bytes; transcripts are JSONL, one entry per line.`,
          this.lineNumber,
        );
      }
      line = concat([...this.pending, tail], this.pendingBytes + tail.byteLength);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let text: string;
    try {
      text = this.decoder.decode(line);
    } catch {
      throw new TranscriptError(
        'invalid_utf8',
        'the bytes are not valid UTF-8; transcripts are UTF-8 JSONL text (was a binary or differently encoded file sent?).',
        this.lineNumber,
      );
    }
    this.takeText(text);
  }

  /** One decoded line; `lineNumber` already counts it. */
  private takeText(text: string): void {
    // A line that opens an object is not blank; only other lines pay for the trim.
    if (text.charCodeAt(0) !== OPEN_BRACE && text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof SyntaxError ? error.message : 'unparseable';
      throw new TranscriptError(
        'invalid_json',
        `not valid JSON (${reason}); every line of a transcript must be one JSON object.`,
        this.lineNumber,
      );
    }
    if (!isObject(value)) {
      throw new TranscriptError(
        'invalid_entry',
        `a JSON ${Array.isArray(value) ? 'array' : typeof value} where a JSON object was expected; every line of a transcript must be one JSON object.`,
        this.lineNumber,
      );
    }
    if (this.sessionId === undefined) this.takeHeader(value);
    else this.takeEntry(value);
  }

  private takeHeader(header: Json): void {
    const id = header['id'];
    if (header['type'] !== 'session' || typeof id !== 'string' || id.length === 0) {
      throw new TranscriptError(
        'missing_header',
        'the first line is not an OpenClaw session header; it must be {"type":"session","id":"<session id>",...}.',
        this.lineNumber,
      );
    }
    this.sessionId = id;
    const version = header['version'];
    this.headerVersion = typeof version === 'number' ? version : null;
    const parent = header['parentSession'];
    this.parentSession = typeof parent === 'string' ? parent : null;
    this.noteTimestamp(header['timestamp']);
  }

  private takeEntry(entry: Json): void {
    const type = typeof entry['type'] === 'string' ? entry['type'] : '(none)';
    increment(this.entriesByType, type);
    this.noteTimestamp(entry['timestamp']);
    if (type === 'model_change') {
      if (typeof entry['provider'] === 'string') this.providers.add(entry['provider']);
      if (typeof entry['modelId'] === 'string') this.models.add(entry['modelId']);
    }
    if (type !== 'message' || !isObject(entry['message'])) return;
    const message = entry['message'];
    const role = typeof message['role'] === 'string' ? message['role'] : '(none)';
    increment(this.messagesByRole, role);
    if (role === 'assistant') this.takeAssistant(entry, message);
    else if (role === 'user' && this.title === null) this.title = titleOf(message['content']);
  }

  private takeAssistant(entry: Json, message: Json): void {
    const content = message['content'];
    if (Array.isArray(content)) {
      for (const block of content) {
        if (isObject(block) && block['type'] === 'toolCall' && typeof block['name'] === 'string') {
          increment(this.toolCalls, block['name']);
        }
      }
    }
    if (message['stopReason'] === 'error') this.errorStops += 1;
    if (message['stopReason'] === 'aborted') this.abortedStops += 1;

    const provider = typeof message['provider'] === 'string' ? message['provider'] : 'unknown';
    const model = typeof message['model'] === 'string' ? message['model'] : 'unknown';
    if (provider === MIRROR_PROVIDER && model === MIRROR_MODEL) return;
    if (provider !== 'unknown') this.providers.add(provider);
    if (model !== 'unknown') this.models.add(model);

    const usage = isObject(message['usage']) ? message['usage'] : undefined;
    if (!usage) return;
    const cost = isObject(usage['cost']) ? usage['cost'] : {};
    const record: UsageRecord = {
      entryId: typeof entry['id'] === 'string' ? entry['id'] : `line-${this.lineNumber}`,
      day: this.intern(dayOf(message['timestamp'], entry['timestamp'])),
      provider: this.intern(provider),
      model: this.intern(model),
      input: count(usage['input']),
      output: count(usage['output']),
      cacheRead: count(usage['cacheRead']),
      cacheWrite: count(usage['cacheWrite']),
      totalTokens: count(usage['totalTokens']),
      costUsd: count(cost['total']),
    };
    this.tokens.input += record.input;
    this.tokens.output += record.output;
    this.tokens.cacheRead += record.cacheRead;
    this.tokens.cacheWrite += record.cacheWrite;
    this.tokens.total += record.totalTokens;
    this.costUsd += record.costUsd;
    this.onUsage?.(record);
  }

  private intern(value: string): string {
    const known = this.interned.get(value);
    if (known !== undefined) return known;
    if (this.interned.size < 10_000) this.interned.set(value, value);
    return value;
  }

  private noteTimestamp(value: unknown): void {
    const ms = toMillis(value);
    if (ms === undefined) return;
    if (ms < this.firstMs) this.firstMs = ms;
    if (ms > this.lastMs) this.lastMs = ms;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function toMillis(value: unknown): number | undefined {
  const ms =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? (isoMillis(value) ?? Date.parse(value))
        : NaN;
  // Beyond ±8.64e15 ms a Date is invalid; such a value is noise, not a time.
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : undefined;
}

/** The day of the last timestamp read by `isoMillis`: `YYYY-MM-DD` and its first millisecond. */
let isoDay = { prefix: '', ms: 0 };

/**
 * `Date.parse` for the one form OpenClaw writes (`toISOString()`: `2026-02-03T09:14:02.118Z`) at
 * a third of its cost (10% of B2's scan before, 3.5% after): the day is parsed once per day, the
 * time of day read from its digits.
 * `undefined` for anything else, which `Date.parse` then reads; so is a time of day out of range.
 */
function isoMillis(text: string): number | undefined {
  if (
    text.length !== 24 ||
    text.charCodeAt(10) !== 0x54 || // T
    text.charCodeAt(13) !== 0x3a || // :
    text.charCodeAt(16) !== 0x3a ||
    text.charCodeAt(19) !== 0x2e || // .
    text.charCodeAt(23) !== 0x5a // Z
  ) {
    return undefined;
  }
  const hours = digits(text, 11, 2);
  const minutes = digits(text, 14, 2);
  const seconds = digits(text, 17, 2);
  const millis = digits(text, 20, 3);
  if (hours < 0 || minutes < 0 || seconds < 0 || millis < 0) return undefined;
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  if (isoDay.prefix === '' || !text.startsWith(isoDay.prefix)) {
    const isDay =
      digits(text, 0, 4) >= 0 &&
      text.charCodeAt(4) === 0x2d && // -
      digits(text, 5, 2) >= 0 &&
      text.charCodeAt(7) === 0x2d &&
      digits(text, 8, 2) >= 0;
    const prefix = text.slice(0, 10);
    const ms = isDay ? Date.parse(`${prefix}T00:00:00.000Z`) : NaN;
    if (Number.isNaN(ms)) return undefined;
    isoDay = { prefix, ms };
  }
  return isoDay.ms + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
}

/** The decimal number in `count` characters from `start`; -1 unless they are all digits. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i += 1) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const DAY_MS = 86_400_000;
/** The last day computed: consecutive messages nearly always fall on the same day. */
let lastDay = { from: 0, to: 0, day: '' };

function dayOf(...candidates: unknown[]): string {
  for (const candidate of candidates) {
    const ms = toMillis(candidate);
    if (ms === undefined) continue;
    if (ms >= lastDay.from && ms < lastDay.to) return lastDay.day;
    const from = Math.floor(ms / DAY_MS) * DAY_MS;
    lastDay = { from, to: from + DAY_MS, day: new Date(ms).toISOString().slice(0, 10) };
    return lastDay.day;
  }
  return 'unknown';
}

/** Costs are sums of many small floats; 1e-9 USD is below any price OpenClaw reports. */
export function roundUsd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Longest title kept: enough for a list row, small enough for every session row. */
export const MAX_TITLE_CHARS = 160;

/**
 * A session's title, as lists show it: the first user message's text, whitespace folded, cut at
 * `MAX_TITLE_CHARS`; `null` when it has no text (an image alone).
 */
export function titleOf(content: unknown): string | null {
  let text = '';
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    for (const block of content) {
      if (isObject(block) && block['type'] === 'text' && typeof block['text'] === 'string') {
        text = block['text'];
        break;
      }
    }
  }
  const folded = text
    .slice(0, MAX_TITLE_CHARS * 4)
    .replace(/\s+/g, ' ')
    .trim();
  if (folded === '') return null;
  return folded.length > MAX_TITLE_CHARS ? `${folded.slice(0, MAX_TITLE_CHARS - 1)}…` : folded;
}

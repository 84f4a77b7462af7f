import { randomUUID } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import {
  UsageCombiner,
  type ByteSource,
  type FileSource,
  type UsageBucket,
  type UsageRecord,
} from '@nexus/core';

/**
 * A generation's usage ledger: one JSON array per assistant message,
 * `[entryId, day, provider, model, input, output, cacheRead, cacheWrite, totalTokens, costUsd]`,
 * one per line. Written while the transcript streams in and read back line by line, so neither
 * side holds a transcript's messages in memory.
 */
type LedgerRow = [string, string, string, string, number, number, number, number, number, number];

/**
 * Small on purpose: pending lines that wait long survive young-generation collections and are
 * promoted, growing the old space. 16 KB instead of 256 KB took a 200 MB usage-heavy upload's RSS
 * growth from 67-86 MB to 61-63 MB over five runs (bench/large-upload-memory.ts).
 */
const FLUSH_BYTES = 16 * 1024;

/**
 * A ledger up to this size stays in memory and is stored in the generation's row: most sessions'
 * ledgers are a few KB, and a blob costs a temp file, an fsync, a link and folder syncs (bench B1).
 * It is the flush size, so such a ledger never touched the temp file; 16 K characters fit one
 * table property (32 K).
 */
export const INLINE_LEDGER_BYTES = FLUSH_BYTES;

/** Collects ledger lines into a temp file while the transcript is scanned. */
export class LedgerWriter {
  private readonly path: string;
  private file: FileHandle | undefined;
  private opened = false;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** This generation's own usage per day and model (no dedupe needed within one transcript). */
  private readonly combiner = new UsageCombiner({ dedupe: false });
  private readonly quotes = new Map<string, string>();

  /**
   * `spoolDir`: where a large ledger is spooled, under the server's data folder so the server
   * sweeps what a crash left there when it starts again.
   */
  constructor(spoolDir: string) {
    this.path = join(spoolDir, `ledger-${randomUUID()}.jsonl`);
  }

  /** Synchronous, for the scanner's callback; `drain()` writes what piled up. */
  add(record: UsageRecord): void {
    this.combiner.add(record);
    // The LedgerRow as JSON, written out rather than built as an array and stringified: the
    // scanner's counts are finite numbers, whose JSON is their string; only strings need quoting.
    const line = `[${JSON.stringify(record.entryId)},${this.quoted(record.day)},${this.quoted(record.provider)},${this.quoted(record.model)},${String(record.input)},${String(record.output)},${String(record.cacheRead)},${String(record.cacheWrite)},${String(record.totalTokens)},${String(record.costUsd)}]\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
  }

  /** A day, provider or model as a JSON string: few distinct values, each quoted once. */
  private quoted(value: string): string {
    let json = this.quotes.get(value);
    if (json === undefined) {
      json = JSON.stringify(value);
      if (this.quotes.size < 1000) this.quotes.set(value, json);
    }
    return json;
  }

  /** Writes pending lines once enough piled up (call between chunks). */
  async drain(force = false): Promise<void> {
    if (this.pendingBytes === 0 || (!force && this.pendingBytes < FLUSH_BYTES)) return;
    this.opened = true;
    this.file ??= await open(this.path, 'w', 0o600);
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    await this.file.write(text);
  }

  /** The whole ledger as text when it is small enough to be kept inline, else `undefined`. */
  inline(): string | undefined {
    if (this.file !== undefined || this.pendingBytes > INLINE_LEDGER_BYTES) return undefined;
    return this.pending.join('');
  }

  /** The finished ledger: its temp file (removed by `dispose`), or no bytes when it had no usage. */
  async finish(): Promise<FileSource | Uint8Array> {
    await this.drain(true);
    if (!this.file) return new Uint8Array(0);
    await this.file.close();
    this.file = undefined;
    return { file: this.path };
  }

  /** The usage of this transcript alone, per day and model. */
  usage(): UsageBucket[] {
    return this.combiner.result();
  }

  async dispose(): Promise<void> {
    if (!this.opened) return; // most ledgers never leave memory
    await this.file?.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }
}

/** Reads a stored ledger line by line. */
export async function* readLedger(
  body: ByteSource | Iterable<Uint8Array>,
): AsyncGenerator<UsageRecord> {
  const lines = createInterface({ input: Readable.from(body), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const row = JSON.parse(line) as LedgerRow;
    yield {
      entryId: row[0],
      day: row[1],
      provider: row[2],
      model: row[3],
      input: row[4],
      output: row[5],
      cacheRead: row[6],
      cacheWrite: row[7],
      totalTokens: row[8],
      costUsd: row[9],
    };
  }
}

import { createHash } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress, gunzipSync, zstdDecompressSync } from 'node:zlib';
import { ResumableSha256 } from './resumable-sha256.ts';
import type { LedgerWriter } from './usage-ledger.ts';
import {
  PayloadTooLargeError,
  TranscriptScanner,
  UnsupportedMediaTypeError,
  coerceError,
  errorCode,
  ValidationError,
  type ByteSource,
  type TranscriptSummary,
} from '@nexus/core';

export const CONTENT_ENCODINGS = ['identity', 'gzip', 'zstd'] as const;
export type ContentEncoding = (typeof CONTENT_ENCODINGS)[number];

export function parseContentEncoding(header: string | undefined): ContentEncoding {
  const value = (header ?? 'identity').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'zstd') return 'zstd';
  throw new UnsupportedMediaTypeError(
    'unsupported_content_encoding',
    `Content-Encoding ${JSON.stringify(header)} is not supported; send the transcript uncompressed, or with Content-Encoding gzip or zstd.`,
  );
}

export interface VerifyOptions {
  readonly sessionId: string;
  readonly sha256: string;
  readonly encoding: ContentEncoding;
  /** Largest transcript accepted, counted both as sent and once decompressed. */
  readonly maxBytes: number;
  /** Receives each assistant message's usage as the bytes stream by. */
  readonly ledger: LedgerWriter;
  /**
   * The body is an increment: the bytes that follow a stored generation, summarised by `summary`
   * and hashed up to `hashState` (`ResumableSha256`). `sha256` is the hash of the whole.
   */
  readonly resume?: { readonly summary: TranscriptSummary; readonly hashState: string };
}

export interface VerifiedContent {
  readonly summary: TranscriptSummary;
  /** The last byte is a newline: an increment may follow. */
  readonly lineEnd: boolean;
  /** For an increment, the hash state after its last byte (the next increment resumes there). */
  readonly hashState?: string;
}

/**
 * The upload body as a byte source that decompresses, counts, hashes and validates while it is
 * being stored, and throws before its end when anything is wrong, so the blob store commits
 * nothing (see `BlobStore.putIfAbsent`). Memory stays at one chunk plus one transcript line.
 * `result()` is available once the source has been read to its end without error.
 */
export class VerifiedTranscript {
  private readonly options: VerifyOptions;
  private content: VerifiedContent | undefined;

  constructor(options: VerifyOptions) {
    this.options = options;
  }

  result(): VerifiedContent {
    if (!this.content) throw new Error('the transcript was not read to its end');
    return this.content;
  }

  /**
   * A whole body (the route reads small ones at once, see `SMALL_UPLOAD_BYTES`) decoded and
   * checked in one go, before anything is stored: the transcript's bytes, or `undefined` when it
   * decompresses to more than `WHOLE_DECODE_BYTES`, which `read([body])` then streams. Throws
   * what `read` would.
   */
  readWhole(body: Uint8Array): Uint8Array | undefined {
    const { maxBytes, encoding } = this.options;
    const room = maxBytes - this.baseBytes();
    if (body.byteLength > room) throw tooLarge(maxBytes, 'sent');
    const bytes = decodeWhole(body, encoding, room, maxBytes);
    if (bytes === undefined) return undefined;
    const check = this.checks();
    check.push(bytes);
    this.content = check.finish();
    return bytes;
  }

  /** The body as a stream that decodes and checks while it is read, and throws before its end. */
  async *read(body: ByteSource | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const { maxBytes, encoding, ledger } = this.options;
    const check = this.checks();
    let bytes = this.baseBytes();
    for await (const chunk of decode(limit(body, maxBytes - bytes, maxBytes), encoding)) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) throw tooLarge(maxBytes, 'once decompressed');
      check.push(chunk);
      await ledger.drain();
      yield chunk;
    }
    this.content = check.finish();
  }

  /** The bytes before the body's: those of the generation an increment follows. */
  private baseBytes(): number {
    return this.options.resume?.summary.bytes ?? 0;
  }

  /** Hash and transcript rules over the decoded bytes, fed in any number of chunks. */
  private checks(): { push(chunk: Uint8Array): void; finish(): VerifiedContent } {
    const { sha256, sessionId, ledger, resume } = this.options;
    // Native hashing for a whole transcript; an increment resumes the state after its base.
    const native = resume ? undefined : createHash('sha256');
    const resumed = resume ? ResumableSha256.restore(resume.hashState) : undefined;
    const scanner = new TranscriptScanner({
      onUsage: (record) => {
        ledger.add(record);
      },
      ...(resume ? { resume: resume.summary } : {}),
    });
    let lastByte = resume ? 0x0a : -1;
    return {
      push(chunk) {
        if (chunk.byteLength === 0) return;
        native?.update(chunk);
        resumed?.update(chunk);
        scanner.push(chunk);
        lastByte = chunk[chunk.byteLength - 1] ?? lastByte;
      },
      finish: () => {
        const actual = native ? native.digest('hex') : (resumed?.hex() ?? '');
        const content = finishChecks(actual, sha256, scanner, sessionId);
        const hashState = resumed?.save();
        return { ...content, lineEnd: lastByte === 0x0a, ...(hashState ? { hashState } : {}) };
      },
    };
  }
}

/** The end of the checks: the whole hash, then the rules that need the whole transcript. */
function finishChecks(
  actual: string,
  sha256: string,
  scanner: TranscriptScanner,
  sessionId: string,
): { summary: TranscriptSummary } {
  if (actual !== sha256) {
    throw new ValidationError(
      'sha256_mismatch',
      `The SHA-256 of the received transcript is ${actual}, not ${sha256} as the URL says; hash the uncompressed file bytes and send them unchanged.`,
    );
  }
  const content = scanner.finish();
  if (content.summary.sessionId !== sessionId) {
    throw new ValidationError(
      'session_id_mismatch',
      `The transcript header says session ${JSON.stringify(content.summary.sessionId)}, but it was sent as session ${JSON.stringify(sessionId)}; send it under the header's id (the canonical session id).`,
    );
  }
  return content;
}

/** The body, failing once more than `room` bytes were sent (`maxBytes` is the server's limit). */
async function* limit(
  body: ByteSource | Iterable<Uint8Array>,
  room: number,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > room) throw tooLarge(maxBytes, 'sent');
    yield chunk;
  }
}

function tooLarge(maxBytes: number, how: string): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `The transcript is larger than ${maxBytes} bytes ${how}, the limit of this server; raise NEXUS_MAX_TRANSCRIPT_BYTES on the server if such files are expected.`,
  );
}

/**
 * A small compressed body that decompresses to at most this much is decoded in one synchronous
 * call; anything larger goes through the streaming decoder. Bounds the time one upload holds the
 * event loop (decoding and scanning 1 MiB take about 3 ms) while sparing most transcripts a
 * stream, its thread-pool round trips and their promise chains (bench B1).
 */
const WHOLE_DECODE_BYTES = 1024 * 1024;

/**
 * The whole body decoded at once, or `undefined` when it decodes to more than is cheap. `room` is
 * what the server's limit `maxBytes` leaves for this body.
 */
function decodeWhole(
  body: Uint8Array,
  encoding: ContentEncoding,
  room: number,
  maxBytes: number,
): Uint8Array | undefined {
  if (encoding === 'identity') return body.byteLength <= WHOLE_DECODE_BYTES ? body : undefined;
  const maxOutputLength = Math.min(room, WHOLE_DECODE_BYTES);
  try {
    const options = { maxOutputLength };
    return encoding === 'gzip' ? gunzipSync(body, options) : zstdDecompressSync(body, options);
  } catch (error) {
    if (errorCode(error) !== 'ERR_BUFFER_TOO_LARGE') throw asDecodeError(error, encoding);
    if (maxOutputLength === room) throw tooLarge(maxBytes, 'once decompressed');
    return undefined;
  }
}

async function* decode(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  encoding: ContentEncoding,
): AsyncGenerator<Uint8Array> {
  if (encoding === 'identity') {
    yield* body;
    return;
  }
  // zlib's default 16 KiB output pieces: 64 KiB ones were 8% faster in bench B2 but took the
  // API's RSS growth from 80-82 to 82-107 MB (two runs each), too close to its 100 MB bound.
  const decompressor: Transform = encoding === 'gzip' ? createGunzip() : createZstdDecompress();
  const source = Readable.from(body, { objectMode: false });
  const done = pipeline(source, decompressor).catch((error: unknown) => error);
  try {
    for await (const chunk of decompressor) yield chunk as Buffer;
  } catch (error) {
    throw asDecodeError(await settle(done, error), encoding);
  }
  const failure = await done;
  if (failure !== undefined) throw asDecodeError(failure, encoding);
}

/** Our own errors (limits) thrown by the body pass through; zlib's become a clear 400. */
function asDecodeError(error: unknown, encoding: ContentEncoding): Error {
  if (error instanceof PayloadTooLargeError || error instanceof ValidationError) return error;
  const fromDecoder =
    error instanceof Error &&
    (/^(Z_|ZSTD_)/.test(errorCode(error) ?? '') ||
      /zstd|unexpected end of file|incorrect header/i.test(error.message));
  if (!fromDecoder) return coerceError(error);
  return new ValidationError(
    'invalid_content_encoding',
    `The body is not valid ${encoding} (${error.message}); compress the whole file with ${encoding}, or send it uncompressed without Content-Encoding.`,
  );
}

async function settle(done: Promise<unknown>, fallback: unknown): Promise<unknown> {
  const failure = await done;
  return failure ?? fallback;
}

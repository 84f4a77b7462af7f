import { createHash } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
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
}

export interface VerifiedContent {
  readonly summary: TranscriptSummary;
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

  async *read(body: ByteSource): AsyncGenerator<Uint8Array> {
    const { maxBytes, encoding, sha256, sessionId, ledger } = this.options;
    const hash = createHash('sha256');
    const scanner = new TranscriptScanner({
      onUsage: (record) => {
        ledger.add(record);
      },
    });
    let bytes = 0;
    for await (const chunk of decode(limit(body, maxBytes, 'sent'), encoding)) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) throw tooLarge(maxBytes, 'once decompressed');
      hash.update(chunk);
      scanner.push(chunk);
      await ledger.drain();
      yield chunk;
    }
    const actual = hash.digest('hex');
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
    this.content = content;
  }
}

async function* limit(body: ByteSource, maxBytes: number, how: string): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) throw tooLarge(maxBytes, how);
    yield chunk;
  }
}

function tooLarge(maxBytes: number, how: string): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `The transcript is larger than ${maxBytes} bytes ${how}, the limit of this server; raise NEXUS_MAX_TRANSCRIPT_BYTES on the server if such files are expected.`,
  );
}

async function* decode(
  body: AsyncIterable<Uint8Array>,
  encoding: ContentEncoding,
): AsyncGenerator<Uint8Array> {
  if (encoding === 'identity') {
    yield* body;
    return;
  }
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
    (errorCode(error)?.startsWith('Z_') === true ||
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

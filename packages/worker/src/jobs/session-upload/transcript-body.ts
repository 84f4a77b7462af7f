import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  createGzip,
  createZstdCompress,
  createZstdDecompress,
  gzipSync,
  zstdCompressSync,
  constants as zlibConstants,
} from 'node:zlib';
import { isLoopbackApi } from './api-location.ts';

export type Compression = 'zstd' | 'gzip' | 'none';

/**
 * zstd at level 5, not its default 3: compression is only used towards a remote API, behind an
 * uplink that is slower than the compressor either way. On 1,000 prose transcripts over a
 * throttled link (bench B1w) level 5 sent 33.7 MB where 3 sent 35.2 MB, for about 1 s more of the
 * worker's CPU per 100 MB (on 200 of them: 32.9% of the text kept at 85 MB/s, against 34.4% at
 * 151 MB/s); at 10 Mbit/s the run was 3% shorter. Level 7 kept 32.5% at 55 MB/s.
 */
const ZSTD_OPTIONS = { params: { [zlibConstants.ZSTD_c_compressionLevel]: 5 } };

/**
 * `auto` is zstd, except to an API on this machine (a loopback address or `localhost`): there the
 * bytes never cross a network and compressing them only costs CPU on both ends.
 */
export function resolveCompression(setting: Compression | 'auto', nexusUrl: string): Compression {
  if (setting !== 'auto') return setting;
  return isLoopbackApi(nexusUrl) ? 'none' : 'zstd';
}

/** A stored generation that the transcript may extend: its hash and length. */
export interface UploadBase {
  readonly sha256: string;
  readonly bytes: number;
}

interface Hashed {
  readonly sha256: string;
  /** The bytes hashed: the file's, or up to its last newline (`wholeLines`). */
  readonly bytes: number;
  /** The hash of the first `base.bytes` bytes, when the file has that many. */
  readonly prefixSha256: string | undefined;
  readonly lineEnd: boolean;
}

/**
 * SHA-256 and size of a transcript's uncompressed bytes, streamed, up to `limit` bytes: what the
 * API checks the upload against. A `.zst` archive is hashed after decompression. With `base`,
 * the hash of the first `base.bytes` bytes too (a copy of the hash state at that offset).
 */
export async function hashTranscript(
  path: string,
  compressed: boolean,
  options: { base?: UploadBase | undefined; limit?: number | undefined } = {},
): Promise<Hashed> {
  const hash = createHash('sha256');
  if (options.limit === 0) {
    return { sha256: hash.digest('hex'), bytes: 0, prefixSha256: undefined, lineEnd: false };
  }
  const split = options.base?.bytes;
  let prefixSha256: string | undefined;
  let bytes = 0;
  let last = -1;
  const file = createReadStream(path, {
    highWaterMark: 256 * 1024,
    ...(compressed || options.limit === undefined ? {} : { end: options.limit - 1 }),
  });
  const source = compressed ? file.pipe(createZstdDecompress()) : file;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (split !== undefined && bytes < split && bytes + chunk.length >= split) {
      hash.update(chunk.subarray(0, split - bytes));
      prefixSha256 = hash.copy().digest('hex');
      hash.update(chunk.subarray(split - bytes));
    } else {
      hash.update(chunk);
    }
    bytes += chunk.length;
    if (chunk.length > 0) last = chunk[chunk.length - 1] ?? last;
  }
  return { sha256: hash.digest('hex'), bytes, prefixSha256, lineEnd: last === 0x0a };
}

/**
 * Opens a transcript as an upload body: bytes `[from, to)` of it. A `.zst` archive goes as it is
 * (`Content-Encoding: zstd`): no work, and already small. Others are compressed in transit as
 * configured, and read only up to the hashed bytes: lines appended since (a live snapshot) wait
 * for the next run instead of making the upload's hash wrong.
 */
function openUploadBody(
  path: string,
  compressed: boolean,
  compression: Compression,
  range: { from: number; to: number },
): { encoding: 'zstd' | 'gzip' | 'identity'; open: () => Readable } {
  const file = () =>
    createReadStream(path, {
      highWaterMark: 256 * 1024,
      ...(compressed ? {} : { start: range.from, end: range.to - 1 }),
    });
  if (compressed) return { encoding: 'zstd', open: file };
  if (compression === 'none') return { encoding: 'identity', open: file };
  if (compression === 'gzip')
    return { encoding: 'gzip', open: () => file().pipe(createGzip({ level: 6 })) };
  return { encoding: 'zstd', open: () => file().pipe(createZstdCompress(ZSTD_OPTIONS)) };
}

/** Files up to this size are read once, hashed and sent from memory (most transcripts). */
export const SMALL_TRANSCRIPT_BYTES = 1024 * 1024;

export interface PreparedUpload {
  readonly sha256: string;
  /** The transcript's length (what `sha256` covers). */
  readonly bytes: number;
  /** It ends with a newline: a later, longer version of it can be sent as an increment. */
  readonly lineEnd: boolean;
  /**
   * Set when the body is an increment: only the bytes after this generation's, which the
   * transcript begins with.
   */
  readonly base?: UploadBase;
  readonly encoding: 'zstd' | 'gzip' | 'identity';
  /** The bytes to send (small files), or a stream opened afresh for each attempt. */
  readonly body: Uint8Array | (() => Readable);
  /**
   * A stream's length when it is known (the file as it is, uncompressed): sent as
   * `Content-Length`, which lets the API refuse an oversized upload before reading it.
   */
  readonly length?: number;
  /** Bytes of transcript the body carries (before compression): all, or the increment's. */
  readonly sentBytes: number;
}

export interface PrepareOptions {
  /** The generation stored last for this transcript: send only what follows it, if it does. */
  readonly base?: UploadBase | undefined;
  /** Cut after the last newline: a live transcript may end in a line still being written. */
  readonly wholeLines?: boolean;
}

/**
 * Hash and body of a transcript. A small plain file is read once: the hash and the body come from
 * the same bytes (so it cannot change in between), and no 256 KB stream buffers are allocated for
 * a 40 KB file (bench B1: the worker spent a fifth of its time collecting them). Reading and
 * compressing it synchronously holds the worker's event loop for at most about 12 milliseconds
 * (1 MiB at zstd level 5) and costs less CPU than a file handle's and a compression stream's
 * round trips through the thread pool. Larger files and `.zst` archives are streamed twice.
 *
 * With a `base` that the transcript begins with (same hash over its length, ending in a newline),
 * the body is only the bytes after it: a live session's snapshot costs what it added.
 */
export async function prepareUpload(
  path: string,
  compressed: boolean,
  compression: Compression,
  sizeHint: number,
  options: PrepareOptions = {},
): Promise<PreparedUpload> {
  const base = compressed ? undefined : options.base;
  if (compressed || sizeHint > SMALL_TRANSCRIPT_BYTES) {
    const limit = options.wholeLines && !compressed ? await lastLineEnd(path, sizeHint) : undefined;
    const hashed = await hashTranscript(path, compressed, { base, limit });
    const { sha256, bytes, lineEnd } = hashed;
    const extends_ = base !== undefined && hashed.prefixSha256 === base.sha256 ? base : undefined;
    const from = extends_?.bytes ?? 0;
    if (!compressed && bytes - from === 0) {
      return {
        sha256,
        bytes,
        lineEnd,
        ...(extends_ ? { base: extends_ } : {}),
        encoding: 'identity',
        body: new Uint8Array(0),
        sentBytes: 0,
      };
    }
    const body = openUploadBody(path, compressed, compression, { from, to: bytes });
    // Sent as it is, its length is known ahead.
    const asIs = !compressed && body.encoding === 'identity';
    return {
      sha256,
      bytes,
      lineEnd,
      ...(extends_ ? { base: extends_ } : {}),
      encoding: body.encoding,
      body: body.open,
      ...(asIs ? { length: bytes - from } : {}),
      sentBytes: bytes - from,
    };
  }
  let raw = readFileSync(path);
  if (options.wholeLines) raw = raw.subarray(0, raw.lastIndexOf(0x0a) + 1);
  const hash = createHash('sha256');
  let extends_: UploadBase | undefined;
  if (base !== undefined && base.bytes <= raw.length) {
    hash.update(raw.subarray(0, base.bytes));
    if (hash.copy().digest('hex') === base.sha256) extends_ = base;
    hash.update(raw.subarray(base.bytes));
  } else {
    hash.update(raw);
  }
  const sha256 = hash.digest('hex');
  const sent = raw.subarray(extends_?.bytes ?? 0);
  const [encoding, payload] =
    compression === 'zstd'
      ? (['zstd', zstdCompressSync(sent, ZSTD_OPTIONS)] as const)
      : compression === 'gzip'
        ? (['gzip', gzipSync(sent, { level: 6 })] as const)
        : (['identity', sent] as const);
  return {
    sha256,
    bytes: raw.length,
    lineEnd: raw.at(-1) === 0x0a,
    ...(extends_ ? { base: extends_ } : {}),
    encoding,
    body: payload,
    sentBytes: sent.length,
  };
}

/** The length of a file's first `size` bytes up to and with its last newline (0: none). */
async function lastLineEnd(path: string, size: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const block = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0;) {
      const start = Math.max(0, end - block.length);
      const { bytesRead } = await handle.read(block, 0, end - start, start);
      const at = block.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (at !== -1) return start + at + 1;
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

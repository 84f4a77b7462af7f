import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import {
  createGzip,
  createZstdCompress,
  createZstdDecompress,
  gzipSync,
  zstdCompressSync,
} from 'node:zlib';

export type Compression = 'zstd' | 'gzip' | 'none';

/**
 * `auto` is zstd, except to an API on this machine (a loopback address or `localhost`): there the
 * bytes never cross a network and compressing them only costs CPU on both ends.
 */
export function resolveCompression(setting: Compression | 'auto', nexusUrl: string): Compression {
  if (setting !== 'auto') return setting;
  let host: string;
  try {
    host = new URL(nexusUrl).hostname;
  } catch {
    return 'zstd';
  }
  const loopback =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  return loopback ? 'none' : 'zstd';
}

/**
 * SHA-256 and size of a transcript's uncompressed bytes, streamed: what the API checks the
 * upload against. A `.zst` archive is hashed after decompression.
 */
export async function hashTranscript(
  path: string,
  compressed: boolean,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  const source = compressed ? file.pipe(createZstdDecompress()) : file;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Opens a transcript as an upload body. A `.zst` archive goes as it is (`Content-Encoding:
 * zstd`): no work, and already small. Others are compressed in transit as configured, and read
 * only up to the `hashed` bytes: lines appended since (a live snapshot) wait for the next run
 * instead of making the upload's hash wrong.
 */
function openUploadBody(
  path: string,
  compressed: boolean,
  compression: Compression,
  hashed: number,
): { encoding: 'zstd' | 'gzip' | 'identity'; open: () => Readable } {
  const file = () =>
    createReadStream(path, {
      highWaterMark: 256 * 1024,
      ...(compressed ? {} : { start: 0, end: hashed - 1 }),
    });
  if (compressed) return { encoding: 'zstd', open: file };
  if (compression === 'none') return { encoding: 'identity', open: file };
  if (compression === 'gzip')
    return { encoding: 'gzip', open: () => file().pipe(createGzip({ level: 6 })) };
  return { encoding: 'zstd', open: () => file().pipe(createZstdCompress()) };
}

/** Files up to this size are read once, hashed and sent from memory (most transcripts). */
export const SMALL_TRANSCRIPT_BYTES = 1024 * 1024;

export interface PreparedUpload {
  readonly sha256: string;
  readonly bytes: number;
  readonly encoding: 'zstd' | 'gzip' | 'identity';
  /** The bytes to send (small files), or a stream opened afresh for each attempt. */
  readonly body: Uint8Array | (() => Readable);
  /**
   * A stream's length when it is known (the file as it is, uncompressed): sent as
   * `Content-Length`, which lets the API refuse an oversized upload before reading it.
   */
  readonly length?: number;
}

/**
 * Hash and body of a transcript. A small plain file is read once: the hash and the body come from
 * the same bytes (so it cannot change in between), and no 256 KB stream buffers are allocated for
 * a 40 KB file (bench B1: the worker spent a fifth of its time collecting them). Reading and
 * compressing it synchronously holds the worker's event loop for at most a few milliseconds (1 MiB
 * at zstd's default level) and costs less CPU than a file handle's and a compression stream's
 * round trips through the thread pool. Larger files and `.zst` archives are streamed twice.
 */
export async function prepareUpload(
  path: string,
  compressed: boolean,
  compression: Compression,
  sizeHint: number,
): Promise<PreparedUpload> {
  if (compressed || sizeHint > SMALL_TRANSCRIPT_BYTES) {
    const { sha256, bytes } = await hashTranscript(path, compressed);
    if (!compressed && bytes === 0) {
      return { sha256, bytes, encoding: 'identity', body: new Uint8Array(0) };
    }
    const body = openUploadBody(path, compressed, compression, bytes);
    // Sent as it is, its length is known ahead.
    const asIs = !compressed && body.encoding === 'identity';
    return {
      sha256,
      bytes,
      encoding: body.encoding,
      body: body.open,
      ...(asIs ? { length: bytes } : {}),
    };
  }
  const raw = readFileSync(path);
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const [encoding, payload] =
    compression === 'zstd'
      ? (['zstd', zstdCompressSync(raw)] as const)
      : compression === 'gzip'
        ? (['gzip', gzipSync(raw, { level: 6 })] as const)
        : (['identity', raw] as const);
  return { sha256, bytes: raw.length, encoding, body: payload };
}

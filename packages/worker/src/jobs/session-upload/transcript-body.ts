import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGzip, createZstdCompress, createZstdDecompress } from 'node:zlib';

export type Compression = 'zstd' | 'gzip' | 'none';

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
 * zstd`): no work, and already small. Others are compressed in transit as configured.
 */
export function openUploadBody(
  path: string,
  compressed: boolean,
  compression: Compression,
): { encoding: 'zstd' | 'gzip' | 'identity'; open: () => ReadableStream<Uint8Array> } {
  const file = () => createReadStream(path, { highWaterMark: 256 * 1024 });
  if (compressed) return { encoding: 'zstd', open: () => toWeb(file()) };
  if (compression === 'none') return { encoding: 'identity', open: () => toWeb(file()) };
  if (compression === 'gzip')
    return { encoding: 'gzip', open: () => toWeb(file().pipe(createGzip({ level: 6 }))) };
  return { encoding: 'zstd', open: () => toWeb(file().pipe(createZstdCompress())) };
}

function toWeb(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
}

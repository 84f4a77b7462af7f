import { createReadStream } from 'node:fs';
import { createZstdDecompress } from 'node:zlib';

const MAX_HEADER_BYTES = 64 * 1024;

/**
 * The session id in a transcript's first line (`{"type":"session","id":...}`), the canonical id
 * (it can differ from the file name after upgrades). `undefined` when the file has no readable
 * header; the API will then refuse it with its reason.
 */
export async function readHeaderId(path: string, compressed: boolean): Promise<string | undefined> {
  const file = createReadStream(path, { highWaterMark: 16 * 1024 });
  const source = compressed ? file.pipe(createZstdDecompress()) : file;
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const newline = chunk.indexOf(0x0a);
      parts.push(newline === -1 ? chunk : chunk.subarray(0, newline));
      length += chunk.length;
      if (newline !== -1 || length > MAX_HEADER_BYTES) break;
    }
  } catch {
    return undefined;
  } finally {
    file.destroy();
    source.destroy();
  }
  try {
    const header = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
      type?: unknown;
      id?: unknown;
    };
    return header.type === 'session' && typeof header.id === 'string' && header.id !== ''
      ? header.id
      : undefined;
  } catch {
    return undefined;
  }
}

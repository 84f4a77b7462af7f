import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  constants as zlibConstants,
  createZstdCompress,
  gunzipSync,
  zstdCompressSync,
  zstdDecompressSync,
} from 'node:zlib';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  SMALL_TRANSCRIPT_BYTES,
  prepareUpload,
  resolveCompression,
  type Compression,
} from './transcript-body.ts';

async function bodyOf(body: Uint8Array | (() => Readable)): Promise<Buffer> {
  if (typeof body !== 'function') return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const part of body()) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const decode = { zstd: zstdDecompressSync, gzip: gunzipSync, identity: (b: Buffer) => b };

describe('prepareUpload', () => {
  it.each<[string, number, Compression]>([
    ['a small file', 40_000, 'zstd'],
    ['a small file', 40_000, 'gzip'],
    ['a small file', 40_000, 'none'],
    ['a file over the in-memory size', SMALL_TRANSCRIPT_BYTES + 10, 'zstd'],
    ['a file over the in-memory size', SMALL_TRANSCRIPT_BYTES + 10, 'none'],
  ])(
    'hashes %s (%i bytes) as sent, compressed with %s, the same on every open',
    async (_l, size, compression) => {
      const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
      const raw = Buffer.from(
        Array.from(
          { length: Math.ceil(size / 38) }, // 38 bytes a line
          (_, n) => `{"line":${String(n).padStart(28, '0')}}\n`,
        )
          .join('')
          .slice(0, size),
      );
      const path = join(dir, 's.jsonl');
      expect(raw.length).toBe(size);
      await writeFile(path, raw);
      const prepared = await prepareUpload(path, false, compression, raw.length);
      expect(prepared.sha256).toBe(createHash('sha256').update(raw).digest('hex'));
      expect(prepared.bytes).toBe(raw.length);
      expect(prepared.encoding).toBe(compression === 'none' ? 'identity' : compression);
      // A stream of the file as it is has a known length (sent as Content-Length).
      const streamedAsIs = size > SMALL_TRANSCRIPT_BYTES && compression === 'none';
      expect(prepared.length).toBe(streamedAsIs ? raw.length : undefined);
      for (let attempt = 0; attempt < 2; attempt += 1)
        expect(decode[prepared.encoding](await bodyOf(prepared.body)).equals(raw)).toBe(true);
    },
  );

  it.each([
    ['a small file', 200_000],
    ['a file over the in-memory size', SMALL_TRANSCRIPT_BYTES + 200_000],
  ])('compresses %s at zstd level 5, smaller than at the default level', async (_l, size) => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
    // Text with some entropy (a seeded word salad), where the level makes a difference.
    let seed = 7;
    const words = Array.from({ length: 4000 }, (_, n) => `w${(n * 7919).toString(36)}`);
    const pick = () => words[(seed = (seed * 48271) % 2147483647) % words.length] ?? '';
    const lines: string[] = [];
    for (let bytes = 0; bytes < size;) {
      const line = `{"text":"${Array.from({ length: 12 }, pick).join(' ')}"}\n`;
      lines.push(line);
      bytes += line.length;
    }
    const raw = Buffer.from(lines.join('').slice(0, size));
    await writeFile(join(dir, 's.jsonl'), raw);
    const path = join(dir, 's.jsonl');
    const prepared = await prepareUpload(path, false, 'zstd', raw.length);
    const sent = await bodyOf(prepared.body);
    expect(zstdDecompressSync(sent).equals(raw)).toBe(true);
    // Compressed as the worker does (whole, or streamed from the file), at a given level.
    const level = async (n: number) => {
      const params = { [zlibConstants.ZSTD_c_compressionLevel]: n };
      if (size <= SMALL_TRANSCRIPT_BYTES) return zstdCompressSync(raw, { params }).length;
      const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
      return (await bodyOf(() => stream.pipe(createZstdCompress({ params })))).length;
    };
    expect(await level(5)).toBeLessThan(await level(3));
    expect(sent.length).toBe(await level(5));
  });

  it.each<Compression>(['none', 'zstd', 'gzip'])(
    'sends a large file as it was hashed, even when lines were appended since (%s)',
    async (compression) => {
      const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
      const path = join(dir, 'live.jsonl');
      const raw = Buffer.from('{"type":"message"}\n'.repeat(70_000));
      await writeFile(path, raw);
      const prepared = await prepareUpload(path, false, compression, raw.length);
      await appendFile(path, '{"type":"message","late":true}\n');
      expect(prepared.length).toBe(compression === 'none' ? raw.length : undefined);
      expect(decode[prepared.encoding](await bodyOf(prepared.body)).equals(raw)).toBe(true);
    },
  );

  it('sends a .zst archive as it is, hashed after decompression', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
    const raw = Buffer.from('{"type":"session"}\n'.repeat(100));
    const packed = zstdCompressSync(raw);
    const path = join(dir, 's.jsonl.zst');
    await writeFile(path, packed);
    const prepared = await prepareUpload(path, true, 'gzip', packed.length);
    expect(prepared).toMatchObject({
      sha256: createHash('sha256').update(raw).digest('hex'),
      bytes: raw.length,
      encoding: 'zstd',
    });
    expect((await bodyOf(prepared.body)).equals(packed)).toBe(true);
  });
});

describe('prepareUpload with a base', () => {
  const hash = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const linesOf = (count: number) =>
    Buffer.from(
      Array.from({ length: count }, (_, n) => `{"line":${String(n).padStart(28, '0')}}\n`).join(''),
    );

  it.each<[string, number, Compression]>([
    ['a small file', 500, 'none'],
    ['a small file', 500, 'zstd'],
    ['a file over the in-memory size', 40_000, 'none'],
    ['a file over the in-memory size', 40_000, 'gzip'],
  ])(
    'sends only the bytes after the base when %s (%i lines) begins with it (%s)',
    async (_l, count, compression) => {
      const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
      const path = join(dir, 's.jsonl');
      const raw = linesOf(count);
      const baseBytes = linesOf(Math.floor(count / 2)).length;
      await writeFile(path, raw);
      const base = { sha256: hash(raw.subarray(0, baseBytes)), bytes: baseBytes };
      const prepared = await prepareUpload(path, false, compression, raw.length, { base });
      expect(prepared).toMatchObject({
        sha256: hash(raw),
        bytes: raw.length,
        base,
        sentBytes: raw.length - baseBytes,
        lineEnd: true,
      });
      const sent = decode[prepared.encoding](await bodyOf(prepared.body));
      expect(sent.equals(raw.subarray(baseBytes))).toBe(true);
    },
  );

  it.each([
    ['does not begin with it', () => ({ sha256: hash(Buffer.from('other')), bytes: 5 })],
    ['is shorter than it', (raw: Buffer) => ({ sha256: hash(raw), bytes: raw.length + 10 })],
  ])('sends the whole file when it %s', async (_l, baseOf) => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
    const path = join(dir, 's.jsonl');
    const raw = linesOf(50);
    await writeFile(path, raw);
    const prepared = await prepareUpload(path, false, 'none', raw.length, { base: baseOf(raw) });
    expect(prepared.base).toBeUndefined();
    expect(prepared.sentBytes).toBe(raw.length);
    expect((await bodyOf(prepared.body)).equals(raw)).toBe(true);
  });

  it.each([500, 40_000])(
    'cuts a live file of %i lines after its last newline when asked for whole lines',
    async (count) => {
      const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
      const path = join(dir, 's.jsonl');
      const raw = linesOf(count);
      await writeFile(path, Buffer.concat([raw, Buffer.from('{"half":')]));
      const prepared = await prepareUpload(path, false, 'none', raw.length + 8, {
        wholeLines: true,
      });
      expect(prepared).toMatchObject({ sha256: hash(raw), bytes: raw.length, lineEnd: true });
      expect((await bodyOf(prepared.body)).equals(raw)).toBe(true);
    },
  );

  it('finds nothing to send in a live file without one whole line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-body-'));
    const path = join(dir, 's.jsonl');
    await writeFile(path, 'x'.repeat(SMALL_TRANSCRIPT_BYTES + 5));
    const large = await prepareUpload(path, false, 'none', SMALL_TRANSCRIPT_BYTES + 5, {
      wholeLines: true,
    });
    expect(large.bytes).toBe(0);
    await writeFile(path, '{"type":"session"');
    const small = await prepareUpload(path, false, 'none', 17, { wholeLines: true });
    expect(small.bytes).toBe(0);
  });
});

describe('resolveCompression', () => {
  it.each([
    ['http://localhost:8080', 'none'],
    ['http://api.localhost', 'none'],
    ['http://127.0.0.1:8080', 'none'],
    ['http://127.1.2.3', 'none'],
    ['http://[::1]:8080', 'none'],
    ['https://nexus.azurewebsites.net/api', 'zstd'],
    ['http://192.168.1.20:8080', 'zstd'],
    ['http://127.0.0.1.example.com', 'zstd'],
    ['http://localhost.example.com', 'zstd'],
  ])('sends to %s with auto as %s', (url, expected) => {
    expect(resolveCompression('auto', url)).toBe(expected);
  });

  it('keeps an explicit choice whatever the address', () => {
    expect(resolveCompression('zstd', 'http://localhost:8080')).toBe('zstd');
    expect(resolveCompression('none', 'https://nexus.example.com')).toBe('none');
    expect(resolveCompression('gzip', 'http://127.0.0.1')).toBe('gzip');
  });
});

/**
 * The baseline's server: the least an HTTP server can do to store uploads durably. Each PUT body
 * is streamed to a temp file, fsync'd and renamed, then answered 201. Prints its URL.
 *
 *   node bench/baseline-server.ts <data dir>
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2] ?? 'baseline-data';
await mkdir(dir, { recursive: true });
let n = 0;
const server = createServer((req, res) => {
  const tmp = join(dir, `${process.pid}-${n++}.part`);
  void (async () => {
    await pipeline(req, createWriteStream(tmp));
    const file = await open(tmp, 'r');
    await file.sync();
    await file.close();
    await rename(tmp, join(dir, `${n}.jsonl`));
    res.writeHead(201).end('{}');
  })().catch(() => res.writeHead(500).end());
});
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

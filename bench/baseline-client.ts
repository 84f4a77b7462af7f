/**
 * The baseline's client: streams every file of a list to the baseline server over HTTP with
 * `fetch`, as many at once as asked, and prints a JSON line with its wall time.
 *
 *   node bench/baseline-client.ts <url> <concurrency> <file list (one path per line)>
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

const [url, concurrencyText, listPath] = process.argv.slice(2);
if (!url || !listPath) throw new Error('usage: baseline-client.ts <url> <concurrency> <file list>');
const concurrency = Number(concurrencyText);
if (!Number.isInteger(concurrency) || concurrency < 1)
  throw new Error(`concurrency must be a whole number of at least 1, not ${concurrencyText ?? ''}`);
const files = (await readFile(listPath, 'utf8')).split('\n').filter(Boolean);
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < files.length) {
      const path = files[next++];
      if (!path) continue;
      const response = await fetch(`${url}/upload`, {
        method: 'PUT',
        body: Readable.toWeb(
          createReadStream(path, { highWaterMark: 256 * 1024 }),
        ) as ReadableStream,
        duplex: 'half',
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`baseline upload answered ${response.status}`);
    }
  }),
);
console.log(JSON.stringify({ wallMs: performance.now() - started, files: files.length }));

/**
 * How much a large transcript upload raises the Node server's RSS (issue 2: < 64 MB for 200 MB).
 * Starts `nexus serve` on embedded storage, streams a generated transcript of SIZE_MB to it
 * (never held in this process's memory either), and samples the server's RSS throughout.
 *
 *   node bench/large-upload-memory.ts [sizeMB=200]
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from '@nexus/api/testing';
import { largeTranscriptChunks } from './data.ts';
import { rssOf, sampleRss } from './rss.ts';

const sizeMb = Number(process.argv[2] ?? 200);
const KEY = 'bench-key-0123456789';

const dataDir = await mkdtemp(join(tmpdir(), 'nexus-bench-mem-'));
const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
const pid = server.child.pid ?? 0;
try {
  const hash = createHash('sha256');
  let total = 0;
  for (const chunk of largeTranscriptChunks('big', sizeMb * 1024 * 1024)) {
    hash.update(chunk);
    total += chunk.length;
  }
  const sha = hash.digest('hex');
  // Warm up: one small upload so lazy initialisation is not counted as growth.
  const warm = [...largeTranscriptChunks('warm', 1024 * 1024)];
  const warmSha = createHash('sha256').update(Buffer.concat(warm)).digest('hex');
  await fetch(
    `${server.url}/v1/agents/main/sessions/warm/transcripts/${warmSha}?fileName=warm.jsonl`,
    {
      method: 'PUT',
      body: Buffer.concat(warm),
      headers: { authorization: `Bearer ${KEY}` },
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = await rssOf(pid);
  const sampler = sampleRss(pid);
  const started = performance.now();
  const body = ReadableStream.from(largeTranscriptChunks('big', sizeMb * 1024 * 1024));
  const response = await fetch(
    `${server.url}/v1/agents/main/sessions/big/transcripts/${sha}?fileName=big.jsonl`,
    {
      method: 'PUT',
      body,
      duplex: 'half',
      headers: { authorization: `Bearer ${KEY}` },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const peak = await sampler.stop();
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(
    `upload status ${response.status}: ${await response.text().then((t) => t.slice(0, 60))}...`,
  );
  console.log('| transcript | server RSS before | server RSS peak | growth | wall | throughput |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(
    `| ${mb(total)} MB | ${mb(before)} MB | ${mb(peak)} MB | ${mb(peak - before)} MB | ${seconds.toFixed(1)} s | ${(total / 1024 / 1024 / seconds).toFixed(0)} MB/s |`,
  );
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

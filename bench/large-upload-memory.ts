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
import { spawnServer } from '../packages/api/test/spawn-server.ts';
import { rssOf, sampleRss } from './rss.ts';

const sizeMb = Number(process.argv[2] ?? 200);
const KEY = 'bench-key';

/**
 * A generated transcript, chunk by chunk: half tool results of ~1 KB, half assistant replies with
 * usage (each a distinct entry, so the usage ledger has one row per reply: the worst case for
 * memory that grows with message count).
 */
function* transcriptChunks(sessionId: string, bytes: number): Generator<Buffer> {
  yield Buffer.from(
    `${JSON.stringify({ type: 'session', version: 3, id: sessionId, timestamp: '2026-02-03T09:14:02.118Z' })}\n`,
  );
  let written = 0;
  let n = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 200; i += 1, n += 1) {
      const id = n.toString(16).padStart(8, '0');
      const timestamp = new Date(1770110042118 + n * 1000).toISOString();
      lines.push(
        n % 2 === 0
          ? JSON.stringify({
              type: 'message',
              id,
              parentId: null,
              timestamp,
              message: {
                role: 'toolResult',
                toolCallId: `t${n}`,
                toolName: 'exec',
                content: [{ type: 'text', text: 'o'.repeat(900) }],
                isError: false,
              },
            })
          : JSON.stringify({
              type: 'message',
              id,
              parentId: null,
              timestamp,
              message: {
                role: 'assistant',
                content: [{ type: 'text', text: 'done' }],
                provider: 'anthropic',
                model: 'claude-sonnet-4-5',
                usage: {
                  input: 3,
                  output: 40,
                  cacheRead: 11000,
                  cacheWrite: 200,
                  totalTokens: 11243,
                  cost: { total: 0.0045 },
                },
                stopReason: 'stop',
              },
            }),
      );
    }
    const chunk = Buffer.from(`${lines.join('\n')}\n`);
    written += chunk.length;
    yield chunk;
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'nexus-bench-mem-'));
const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
const pid = server.child.pid ?? 0;
try {
  const hash = createHash('sha256');
  let total = 0;
  for (const chunk of transcriptChunks('big', sizeMb * 1024 * 1024)) {
    hash.update(chunk);
    total += chunk.length;
  }
  const sha = hash.digest('hex');
  // Warm up: one small upload so lazy initialisation is not counted as growth.
  const warm = [...transcriptChunks('warm', 1024 * 1024)];
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
  const body = ReadableStream.from(transcriptChunks('big', sizeMb * 1024 * 1024));
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

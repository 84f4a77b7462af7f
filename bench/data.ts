import { createWriteStream } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTranscript } from '@nexus/core/testing';

/** A small deterministic PRNG (mulberry32), so every run generates the same corpus. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Transcript sizes with a realistic spread: log-normal around a 40 KB median (σ = 1.35, so the
 * mean is about 100 KB), capped at 5 MB.
 */
export function transcriptSizes(count: number, random = seeded(42)): number[] {
  return Array.from({ length: count }, () => {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.min(
      5 * 1024 * 1024,
      Math.max(2 * 1024, Math.round(40 * 1024 * Math.exp(1.35 * normal))),
    );
  });
}

/** About this many bytes per exchange with `toolResultChars` 2000 (measured on the builder). */
const BYTES_PER_TURN = 3300;

/**
 * Writes reset archives of the given sizes into an OpenClaw sessions folder, an hour old so they
 * are past any quiet window. Returns their paths and total bytes.
 */
export async function writeSessionsFolder(
  stateDir: string,
  sizes: readonly number[],
  agentId = 'main',
): Promise<{ paths: string[]; bytes: number }> {
  const dir = join(stateDir, 'agents', agentId, 'sessions');
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  let bytes = 0;
  const old = (Date.now() - 3_600_000) / 1000;
  for (const [i, size] of sizes.entries()) {
    const sessionId = `bench-${String(i).padStart(6, '0')}-0000-4000-8000-000000000000`;
    const text = buildTranscript({
      sessionId,
      turns: Math.max(1, Math.round(size / BYTES_PER_TURN)),
      toolEvery: 1,
      toolResultChars: 2000,
      idPrefix: `b${i}`,
    }).text;
    const path = join(dir, `${sessionId}.jsonl.reset.2026-04-01T00-00-00.000Z`);
    await writeFile(path, text);
    await utimes(path, old, old);
    paths.push(path);
    bytes += Buffer.byteLength(text);
  }
  return { paths, bytes };
}

/**
 * A large transcript, chunk by chunk, never whole in memory: a header, then alternately tool
 * results of about 1 KB and assistant replies with usage, each a distinct entry (one usage-ledger
 * row per reply: the worst case for memory that grows with message count), to about `bytes`.
 */
export function* largeTranscriptChunks(sessionId: string, bytes: number): Generator<Buffer> {
  yield Buffer.from(
    `${JSON.stringify({ type: 'session', version: 3, id: sessionId, timestamp: '2026-02-03T09:14:02.118Z' })}\n`,
  );
  let written = 0;
  for (let n = 0; written < bytes;) {
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
                toolCallId: `t${id}`,
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

/** Writes `largeTranscriptChunks` to a file an hour old (past any quiet window); returns its size. */
export async function writeLargeTranscript(
  path: string,
  sessionId: string,
  bytes: number,
): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  for (const chunk of largeTranscriptChunks(sessionId, bytes)) {
    written += chunk.length;
    if (!out.write(chunk))
      await new Promise<void>((resolve) =>
        out.once('drain', () => {
          resolve();
        }),
      );
  }
  await new Promise<void>((resolve) => out.end(resolve));
  const old = (Date.now() - 3_600_000) / 1000;
  await utimes(path, old, old);
  return written;
}

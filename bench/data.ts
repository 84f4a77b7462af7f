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

/** Who wrote a message, for the length of its prose. */
export type ProseRole = 'user' | 'assistant' | 'tool';

/** A vocabulary of pronounceable words, most common first (rank 0 is the commonest). */
function vocabulary(size: number, random: () => number): string[] {
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ne',
    'ru',
    'sa',
    'ti',
    'vo',
    'be',
    'da',
    'fi',
    'go',
    'ha',
    'ju',
    'pe',
    'qi',
    'ze',
    'wa',
    'xo',
    'yu',
  ];
  const common = [
    'the',
    'backup',
    'disk',
    'meeting',
    'calendar',
    'server',
    'error',
    'please',
    'file',
    'today',
  ];
  const words = new Set(common);
  while (words.size < size) {
    const parts = 2 + Math.floor(random() * 3);
    words.add(
      Array.from({ length: parts }, () => syllables[Math.floor(random() * syllables.length)]).join(
        '',
      ),
    );
  }
  return [...words];
}

/** Zipf-like ranks: log-uniform, so rank r is about twice as common as rank 2r. */
const zipf = (random: () => number, size: number) =>
  Math.min(size - 1, Math.floor(Math.exp(random() * Math.log(size))) - 1);

/** A log-normal length around `median` characters, capped. */
function length(random: () => number, median: number, cap: number): number {
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.max(8, Math.min(cap, Math.round(median * Math.exp(1.1 * normal))));
}

interface Corpus {
  readonly words: readonly string[];
  readonly cjkWords: readonly string[];
  readonly text: (role: ProseRole, random: () => number) => string;
}

/**
 * Chat-like prose: a 40,000-word Zipf vocabulary, 10% of messages Chinese, log-normal lengths
 * around 120 (user), 600 (assistant) and 1,500 (tool) characters. Compresses as text does, not
 * as a repeated filler does (B1w's bytes on the wire depend on it).
 */
export function corpus(): Corpus {
  const random = seeded(606);
  const words = vocabulary(40_000, random);
  // Two-character CJK words from the first 2,500 Han characters.
  const cjkWords = Array.from({ length: 8_000 }, () =>
    String.fromCodePoint(
      0x4e00 + Math.floor(random() * 2500),
      0x4e00 + Math.floor(random() * 2500),
    ),
  );
  cjkWords.unshift('会议', '记录', '备份', '服务');
  const text = (role: ProseRole, r: () => number): string => {
    const chars = length(r, role === 'user' ? 120 : role === 'assistant' ? 600 : 1500, 16 * 1024);
    const cjk = r() < 0.1;
    let out = '';
    while (out.length < chars) {
      if (cjk) {
        out += cjkWords[zipf(r, cjkWords.length)] ?? '';
        if (r() < 0.08) out += '，';
      } else {
        out += `${words[zipf(r, words.length)] ?? ''}${r() < 0.07 ? '. ' : ' '}`;
      }
    }
    return out;
  };
  return { words, cjkWords, text };
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
  /** Chat-like prose in every message (`corpus`) instead of the builder's short texts and filler. */
  prose = false,
): Promise<{ paths: string[]; bytes: number }> {
  const dir = join(stateDir, 'agents', agentId, 'sessions');
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  let bytes = 0;
  const old = (Date.now() - 3_600_000) / 1000;
  const write = transcriptWriter(prose);
  for (const [i, size] of sizes.entries()) {
    const sessionId = `bench-${String(i).padStart(6, '0')}-0000-4000-8000-000000000000`;
    const text = write(sessionId, size, `b${String(i)}`);
    const path = join(dir, `${sessionId}.jsonl.reset.2026-04-01T00-00-00.000Z`);
    await writeFile(path, text);
    await utimes(path, old, old);
    paths.push(path);
    bytes += Buffer.byteLength(text);
  }
  return { paths, bytes };
}

/**
 * A writer of transcripts of about `size` bytes: the builder's short texts and filler, or with
 * `prose` every message chat-like prose of its role (`corpus`). Deterministic across runs for the
 * same calls in the same order.
 */
export function transcriptWriter(
  prose: boolean,
): (sessionId: string, size: number, idPrefix: string) => string {
  const words = prose ? corpus() : undefined;
  const random = seeded(7);
  return (sessionId, size, idPrefix) => {
    const built = buildTranscript({
      sessionId,
      turns: Math.max(1, Math.round(size / (words ? PROSE_BYTES_PER_TURN : BYTES_PER_TURN))),
      toolEvery: 1,
      toolResultChars: 2000,
      idPrefix,
    }).text;
    return words ? withProse(built, (role) => words.text(role, random)) : built;
  };
}

/** About this many bytes per exchange with prose (a user, a tool and an assistant message). */
const PROSE_BYTES_PER_TURN = 5800;

/** A transcript's lines with the text of every message replaced by prose of its role. */
function withProse(jsonl: string, prose: (role: ProseRole) => string): string {
  const lines = jsonl.split('\n').map((line) => {
    if (line === '') return line;
    const entry = JSON.parse(line) as { message?: { role?: string; content?: unknown } };
    const { message } = entry;
    if (!message || !Array.isArray(message.content)) return line;
    const role: ProseRole =
      message.role === 'user' ? 'user' : message.role === 'assistant' ? 'assistant' : 'tool';
    for (const part of message.content as { type?: string; text?: string }[])
      if (part.type === 'text' && typeof part.text === 'string') part.text = prose(role);
    return JSON.stringify(entry);
  });
  return lines.join('\n');
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

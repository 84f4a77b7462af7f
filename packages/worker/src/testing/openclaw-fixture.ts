import { createHash, randomUUID } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { buildTranscript } from '@nexus/core/testing';

export interface FixtureFile {
  readonly agentId: string;
  readonly path: string;
  readonly name: string;
  /** The session id the API should store it under (the header's). */
  readonly sessionId: string;
  /** SHA-256 of the uncompressed transcript. */
  readonly sha256: string;
  readonly kind: 'live' | 'reset' | 'deleted' | 'bak';
}

export interface OpenClawFixture {
  readonly stateDir: string;
  /** Complete transcripts: exactly these must be stored. */
  readonly completed: readonly FixtureFile[];
  /** Live transcripts: must not be uploaded (without snapshots) and never moved. */
  readonly live: readonly FixtureFile[];
  /** A transcript the API must reject (no header line). */
  readonly malformed: FixtureFile;
  /** Files that are not transcripts at all. */
  readonly sidecars: readonly string[];
}

const HOUR = 60 * 60 * 1000;

/**
 * An OpenClaw state folder laid out as OpenClaw lays it out (OPENCLAW.md): two agents; a live
 * session referenced by sessions.json and holding a lock; an orphan completed transcript; reset,
 * deleted (one zstd-compressed, one of 2026.9's generation form) and bak archives; forked and
 * topic names; a header id that differs from its file name; sidecars; a malformed transcript.
 * Completed files are an hour old, so they are past any quiet window.
 */
export async function createOpenClawFixture(
  stateDir: string,
  options: { nowMs?: number; extraArchives?: number } = {},
): Promise<OpenClawFixture> {
  const now = options.nowMs ?? Date.now();
  const completed: FixtureFile[] = [];
  const live: FixtureFile[] = [];
  const sidecars: string[] = [];
  await writeFile(
    join(await ensureDir(stateDir), 'openclaw.json'),
    '// OpenClaw config (JSON5)\n{\n  agents: { list: [ { id: "main", default: true }, { id: "work" }, ], },\n  hooks: { enabled: true, token: "t", },\n}\n',
  );

  const write = async (
    agentId: string,
    name: string,
    text: string,
    opts: { kind: FixtureFile['kind']; sessionId: string; zst?: boolean; ageMs?: number },
  ) => {
    const dir = await ensureDir(join(stateDir, 'agents', agentId, 'sessions'));
    const path = join(dir, name);
    await writeFile(path, opts.zst ? zstdCompressSync(text) : text);
    const at = (now - (opts.ageMs ?? HOUR)) / 1000;
    await utimes(path, at, at);
    return { agentId, path, name, sessionId: opts.sessionId, sha256: sha(text), kind: opts.kind };
  };
  const transcript = (sessionId: string, turns: number) =>
    buildTranscript({ sessionId, turns, toolEvery: 2, idPrefix: sessionId.slice(0, 4) }).text;

  // Agent main: a live session with its lock, referenced by sessions.json.
  const liveId = randomUUID();
  live.push(
    await write('main', `${liveId}.jsonl`, transcript(liveId, 4), {
      kind: 'live',
      sessionId: liveId,
      ageMs: 0,
    }),
  );
  await writeFile(
    join(stateDir, 'agents', 'main', 'sessions', `${liveId}.jsonl.lock`),
    JSON.stringify({ pid: process.pid, createdAt: now }),
  );
  // A second live session: referenced, quiet, unlocked (a snapshot candidate).
  const idleId = randomUUID();
  live.push(
    await write('main', `${idleId}.jsonl`, transcript(idleId, 3), {
      kind: 'live',
      sessionId: idleId,
    }),
  );
  await writeFile(
    join(stateDir, 'agents', 'main', 'sessions', 'sessions.json'),
    JSON.stringify({
      'agent:main:main': { sessionId: liveId, updatedAt: now, model: 'claude-sonnet-4-5' },
      'agent:main:telegram:42': {
        sessionId: idleId,
        updatedAt: now - HOUR,
        sessionFile: join(stateDir, 'agents', 'main', 'sessions', `${idleId}.jsonl`),
      },
    }),
  );
  // Era A: a reset left the old transcript unreferenced (an orphan).
  const orphanId = randomUUID();
  completed.push(
    await write('main', `${orphanId}.jsonl`, transcript(orphanId, 5), {
      kind: 'live',
      sessionId: orphanId,
    }),
  );
  // Era B archives.
  const resetId = randomUUID();
  completed.push(
    await write('main', `${resetId}.jsonl.reset.2026-02-02T20-29-47.344Z`, transcript(resetId, 6), {
      kind: 'reset',
      sessionId: resetId,
    }),
  );
  const deletedId = randomUUID();
  completed.push(
    await write(
      'main',
      `${deletedId}.jsonl.deleted.2026-02-03T08-00-00.000Z.zst`,
      transcript(deletedId, 7),
      { kind: 'deleted', sessionId: deletedId, zst: true },
    ),
  );
  const genId = randomUUID();
  completed.push(
    await write(
      'main',
      `${genId}.jsonl.deleted.2026-09-10T10-00-00.000Z.${'ab'.repeat(16)}.zst`,
      transcript(genId, 2),
      { kind: 'deleted', sessionId: genId, zst: true },
    ),
  );
  completed.push(
    await write('main', `${idleId}.jsonl.bak.2026-02-04T09-00-00.000Z`, transcript(idleId, 9), {
      kind: 'bak',
      sessionId: idleId,
    }),
  );
  // Forked and topic names; a header id that differs from the file name.
  const forkId = randomUUID();
  completed.push(
    await write('main', `2026-02-05T10-00-00.000Z_${forkId}.jsonl`, transcript(forkId, 3), {
      kind: 'live',
      sessionId: forkId,
    }),
  );
  const topicId = `${randomUUID()}-topic-7`;
  completed.push(
    await write('main', `${topicId}.jsonl`, transcript(topicId, 2), {
      kind: 'live',
      sessionId: topicId,
    }),
  );
  const renamedName = randomUUID();
  const headerId = randomUUID();
  completed.push(
    await write(
      'main',
      `${renamedName}.jsonl.reset.2026-03-01T00-00-00.000Z`,
      transcript(headerId, 2),
      { kind: 'reset', sessionId: headerId },
    ),
  );
  // Sidecars that share the id prefix, and OpenClaw's own bookkeeping files.
  for (const name of [
    `${resetId}.trajectory.jsonl`,
    `${resetId}.trajectory-path.json`,
    `${resetId}.checkpoint.${randomUUID()}.jsonl`,
    'sessions.json.bak.1',
    `${liveId}.jsonl.tmp`,
  ]) {
    await writeFile(join(stateDir, 'agents', 'main', 'sessions', name), '{"type":"sidecar"}\n');
    sidecars.push(name);
  }
  // Optional bulk: reset archives from a few KB to about 1 MB, for crash and load tests.
  for (let i = 0; i < (options.extraArchives ?? 0); i += 1) {
    const id = randomUUID();
    const text = buildTranscript({
      sessionId: id,
      turns: 10 + (i % 10) * 30,
      toolEvery: 1,
      toolResultChars: 1500,
      idPrefix: id.slice(0, 4),
    }).text;
    completed.push(
      await write(
        'main',
        `${id}.jsonl.reset.2026-04-01T00-00-${String(i % 60).padStart(2, '0')}.000Z`,
        text,
        { kind: 'reset', sessionId: id },
      ),
    );
  }
  // Agent work: one archive and a malformed transcript (no header).
  const workId = randomUUID();
  completed.push(
    await write('work', `${workId}.jsonl.reset.2026-02-06T12-00-00.000Z`, transcript(workId, 4), {
      kind: 'reset',
      sessionId: workId,
    }),
  );
  const badId = randomUUID();
  const malformed = await write(
    'work',
    `${badId}.jsonl.deleted.2026-02-07T12-00-00.000Z`,
    '{"type":"message","id":"x"}\nnot json\n',
    { kind: 'deleted', sessionId: badId },
  );
  return { stateDir, completed, live, malformed, sidecars };
}

async function ensureDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

import { appendFile, mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { OpenClawDatabase } from '../src/testing/openclaw-database.ts';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import {
  runWorkerJob,
  storedGenerations,
  summaryOf,
  writeWorkerConfig,
} from '../src/testing/worker-harness.ts';

const KEY = 'era-c-key-0123456789';
const HOUR = 3_600_000;

function lines(sessionId: string, turns: number): string[] {
  return buildTranscript({
    sessionId,
    turns,
    toolEvery: 2,
    toolResultChars: 2500,
    idPrefix: sessionId.slice(0, 2),
  })
    .text.trimEnd()
    .split('\n');
}
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('session_upload on an era C OpenClaw (agent database) against the real API', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-c-api-')), {
      NEXUS_API_KEYS: KEY,
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('stores superseded and quiet sessions with their context, skips running ones, and never stores a deleted session twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-c-'));
    const stateDir = join(dir, 'openclaw');
    const sessionsDir = join(stateDir, 'agents', 'main', 'sessions');
    await mkdir(sessionsDir, { recursive: true });
    const db = new OpenClawDatabase(
      join(stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'),
    );
    const old = Date.now() - HOUR;
    // A rollover chain: c-old was superseded by c-new (same session key).
    db.append('c-old', lines('c-old', 4), { createdAt: old, zstdOver: 2000 });
    db.window({
      sessionId: 'c-old',
      sessionKey: 'agent:main:main',
      status: 'done',
      endedAt: old,
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      channel: 'telegram',
      chatType: 'direct',
    });
    db.append('c-new', lines('c-new', 2), { createdAt: old });
    db.window({
      sessionId: 'c-new',
      sessionKey: 'agent:main:main',
      previousSessionId: 'c-old',
      status: 'done',
      endedAt: old,
    });
    // A session in the middle of a run.
    db.append('c-running', lines('c-running', 2), { createdAt: Date.now() });
    db.window({ sessionId: 'c-running', status: 'running' });
    // A done session that will be deleted after its snapshot was uploaded.
    db.append('c-doomed', lines('c-doomed', 3), { createdAt: old, zstdOver: 2000 });
    db.window({ sessionId: 'c-doomed', sessionKey: 'cron:nightly', status: 'done', endedAt: old });
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir,
      mode: 'keep',
      snapshots: true,
    });

    const first = await runWorkerJob(config);
    expect(first.code).toBe(0);
    expect(summaryOf(first)).toMatchObject({ uploaded: 3, notCompleted: 1, failed: 0 });
    let stored = await storedGenerations(server.url, KEY, 'main');
    expect(stored.map((g) => g.sessionId).sort()).toEqual(['c-doomed', 'c-new', 'c-old']);
    expect(stored.find((g) => g.sessionId === 'c-old')?.sha256).toBe(sha(db.transcript('c-old')));

    const detail = (await (
      await fetch(`${server.url}/v1/agents/main/sessions/c-old`, {
        headers: { authorization: `Bearer ${KEY}` },
      })
    ).json()) as {
      session: { context: Record<string, string>; state: Record<string, string> };
      generations: { origin?: string }[];
    };
    expect(detail.session.context).toEqual({
      sessionKey: 'agent:main:main',
      channel: 'telegram',
      chatType: 'direct',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      status: 'done',
      supersededBy: 'c-new',
    });
    expect(detail.session.state).toMatchObject({ state: 'superseded', supersededBy: 'c-new' });
    expect(detail.generations.map((g) => g.origin)).toEqual(['completed']);

    // OpenClaw deletes c-doomed: its archive file has exactly the bytes uploaded from the database.
    const archive = db.deleteSession('c-doomed', 'ab'.repeat(16));
    await writeFile(
      join(sessionsDir, `c-doomed.jsonl.deleted.2026-11-25T10-00-00.000Z.${'ab'.repeat(16)}.zst`),
      archive,
    );
    // c-new gets another turn.
    db.append(
      'c-new',
      [
        JSON.stringify({
          type: 'custom',
          id: 'late',
          parentId: null,
          timestamp: new Date(old).toISOString(),
        }),
      ],
      { createdAt: old },
    );

    const second = await runWorkerJob(config);
    expect(summaryOf(second)).toMatchObject({
      uploaded: 1,
      alreadyPresent: 1,
      unchanged: 1,
      failed: 0,
    });
    stored = await storedGenerations(server.url, KEY, 'main');
    expect(stored.filter((g) => g.sessionId === 'c-doomed')).toHaveLength(1);
    const doomed = (await (
      await fetch(`${server.url}/v1/hosts/default/agents/main/sessions/c-doomed`, {
        headers: { authorization: `Bearer ${KEY}` },
      })
    ).json()) as { session: { state: Record<string, string> } };
    // The archive equals the last snapshot: still one generation, noted as archived, so the
    // session reads as deleted, at the time in the archive's name, with OpenClaw's context.
    expect(doomed.session.state).toMatchObject({
      state: 'deleted',
      since: '2026-11-25T10:00:00.000Z',
      sessionKey: 'cron:nightly',
    });
    expect(stored.filter((g) => g.sessionId === 'c-new')).toHaveLength(2);

    const third = await runWorkerJob(config);
    expect(summaryOf(third)).toMatchObject({ uploaded: 0, alreadyPresent: 0 });
    db.close();
  });

  it('backs up a growing session as increments: each run sends only what was added, and every generation downloads whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-c-grow-'));
    const stateDir = join(dir, 'openclaw');
    const sessionsDir = join(stateDir, 'agents', 'main', 'sessions');
    await mkdir(sessionsDir, { recursive: true });
    const db = new OpenClawDatabase(
      join(stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'),
    );
    const old = Date.now() - HOUR;
    const all = lines('grow', 12);
    db.append('grow', all.slice(0, 5), { createdAt: old, zstdOver: 2000 });
    db.window({ sessionId: 'grow', sessionKey: 'agent:main:main', status: 'done', endedAt: old });
    // A live transcript file of an older OpenClaw (sessions.json names it), growing too, and
    // caught with a line half written.
    const fileLines = lines('fgrow', 8);
    await writeFile(
      join(sessionsDir, 'sessions.json'),
      JSON.stringify({ 'agent:main:old': { sessionId: 'fgrow' } }),
    );
    const live = join(sessionsDir, 'fgrow.jsonl');
    await writeFile(live, `${fileLines.slice(0, 3).join('\n')}\n`);
    await utimes(live, old / 1000, old / 1000);
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir,
      mode: 'keep',
      // The worker's defaults: continuous backup, no snapshot option in the file.
      snapshots: 'default',
    });
    const headers = { authorization: `Bearer ${KEY}` };
    const download = async (sessionId: string, text: string) =>
      (
        await fetch(
          `${server.url}/v1/hosts/default/agents/main/sessions/${sessionId}/transcripts/${sha(text)}`,
          { headers },
        )
      ).text();

    expect(summaryOf(await runWorkerJob(config))).toMatchObject({ uploaded: 2, increments: 0 });
    const texts = [db.transcript('grow')];
    for (let step = 6; step <= all.length; step += 2) {
      const added = all.slice(step - 1, step + 1);
      db.append('grow', added, { createdAt: old, zstdOver: 2000 });
      const before = Buffer.byteLength(texts.at(-1) ?? '');
      texts.push(db.transcript('grow'));
      const run = await runWorkerJob(config);
      expect(run.code).toBe(0);
      expect(summaryOf(run)).toMatchObject({
        uploaded: 1,
        increments: 1,
        sentBytes: Buffer.byteLength(texts.at(-1) ?? '') - before,
        failed: 0,
      });
    }
    for (const text of texts) expect((await download('grow', text)) === text).toBe(true);

    // The file gains two lines and half of a third: only the whole lines go, as an increment.
    const half = fileLines[5] ?? '';
    await appendFile(live, `${fileLines.slice(3, 5).join('\n')}\n${half.slice(0, 20)}`);
    await utimes(live, old / 1000, old / 1000);
    const fileRun = summaryOf(await runWorkerJob(config));
    expect(fileRun).toMatchObject({ uploaded: 1, increments: 1 });
    const wholeLines = `${fileLines.slice(0, 5).join('\n')}\n`;
    expect(await download('fgrow', wholeLines)).toBe(wholeLines);
    const stored = await storedGenerations(server.url, KEY, 'main');
    expect(stored.filter((g) => g.sessionId === 'fgrow')).toHaveLength(2);
    db.close();
  });

  it('without snapshots uploads only superseded sessions; a database it cannot read skips that agent, not the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-c2-'));
    const stateDir = join(dir, 'openclaw');
    const good = new OpenClawDatabase(
      join(stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'),
    );
    good.append('g-old', lines('g-old', 2), { createdAt: Date.now() - HOUR });
    good.window({ sessionId: 'g-old', status: 'done' });
    good.append('g-live', lines('g-live', 2), { createdAt: Date.now() - HOUR });
    good.window({ sessionId: 'g-live', previousSessionId: 'g-old', status: 'done' });
    const bad = new OpenClawDatabase(
      join(stateDir, 'agents', 'work', 'agent', 'openclaw-agent.sqlite'),
      { schemaVersion: 99 },
    );
    bad.append('w1', lines('w1', 1));
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir,
      mode: 'keep',
    });

    const run = await runWorkerJob(config);
    expect(run.code).toBe(0);
    expect(summaryOf(run)).toMatchObject({ uploaded: 1, notCompleted: 1, skippedDatabases: 1 });
    const warning = run.lines.find(
      (l) => typeof l.msg === 'string' && l.msg.includes('database is skipped'),
    );
    expect(warning?.msg).toMatch(/agent work: .*schema version 99/);
    expect((await storedGenerations(server.url, KEY, 'main')).map((g) => g.sessionId)).toContain(
      'g-old',
    );
    good.close();
    bad.close();
  });

  it("sends a delete archive with the session key and reason from OpenClaw's archive table", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-c3-'));
    const stateDir = join(dir, 'openclaw');
    const sessionsDir = join(stateDir, 'agents', 'main', 'sessions');
    await mkdir(sessionsDir, { recursive: true });
    const db = new OpenClawDatabase(
      join(stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'),
    );
    db.append('d-gone', lines('d-gone', 2), { createdAt: Date.now() - HOUR });
    db.window({ sessionId: 'd-gone', sessionKey: 'hook:ab12', status: 'done' });
    const generation = 'cd'.repeat(16);
    await writeFile(
      join(sessionsDir, `d-gone.jsonl.deleted.2026-11-25T10-00-00.000Z.${generation}.zst`),
      db.deleteSession('d-gone', generation),
    );
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir,
      mode: 'keep',
    });
    expect(summaryOf(await runWorkerJob(config))).toMatchObject({ uploaded: 1, failed: 0 });
    const detail = (await (
      await fetch(`${server.url}/v1/agents/main/sessions/d-gone`, {
        headers: { authorization: `Bearer ${KEY}` },
      })
    ).json()) as { session: { context: Record<string, string> } };
    expect(detail.session.context).toEqual({ sessionKey: 'hook:ab12', archiveReason: 'delete' });
    db.close();
  });
});

import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { OpenClawDatabase } from '../../testing/openclaw-database.ts';
import { collectCandidates } from './collect-candidates.ts';
import type { AgentSources } from './settled-source.ts';
import type { LedgerEntry } from './upload-ledger.ts';

const POLICY = { nowMs: Date.now(), quietMs: 15 * 60_000, snapshots: true };
const HEADER = (id: string) => `{"type":"session","version":3,"id":"${id}"}\n`;

function known(key: string): LedgerEntry {
  return {
    key,
    marker: { kind: 'file', size: 1, mtimeMs: 1 },
    sha256: 'a'.repeat(64),
    status: 'uploaded',
    detail: '',
  };
}

async function agentWithArchives(ids: string[]) {
  const root = await mkdtemp(join(tmpdir(), 'nexus-collect-'));
  const sessionsDir = join(root, 'sessions');
  await mkdir(sessionsDir);
  const paths = ids.map((id) => join(sessionsDir, `${id}.jsonl.reset.2026-11-25T10-00-00.000Z`));
  for (const [i, path] of paths.entries()) await writeFile(path, HEADER(ids[i] ?? ''));
  return { root, sessionsDir, paths };
}

const options = (ledger: ReadonlyMap<string, LedgerEntry>, survey: Map<string, AgentSources>) => ({
  sources: ['files', 'database'] as const,
  allowUnknownSchema: false,
  known: ledger,
  policy: POLICY,
  logger: pino({ level: 'silent' }),
  countKnownArchives: true,
  survey,
});

describe('collectCandidates and settled sources', () => {
  it('settles a folder only when every archive in it is known; one to upload keeps it open', async () => {
    const { sessionsDir, paths } = await agentWithArchives(['a1', 'a2', 'a3']);
    const agents = [{ agentId: 'main', sessionsDir, databasePath: undefined }];
    const now = { prefix: join(sessionsDir, sep), fingerprint: 'f1' };
    const survey = new Map([['main', { folder: { now, settled: false } }]]);

    const partly = new Map(paths.slice(0, 2).map((path) => [path, known(path)]));
    const first = await collectCandidates(agents, options(partly, survey));
    expect(first.candidates.map((c) => c.fileName)).toEqual([
      `a3.jsonl.reset.2026-11-25T10-00-00.000Z`,
    ]);
    expect(first.settle).toEqual([]);

    const all = new Map(paths.map((path) => [path, known(path)]));
    const second = await collectCandidates(agents, options(all, survey));
    expect(second.unlisted).toBe(3);
    expect(second.settle).toEqual([{ ...now, transcripts: 3 }]);

    // Settled: counted as they are, the ledger not asked (an empty one here).
    const settledSurvey = new Map([['main', { folder: { now, settled: true } }]]);
    const third = await collectCandidates(agents, options(new Map(), settledSurvey));
    expect([third.unlisted, third.candidates.length, third.settle.length]).toEqual([3, 0, 0]);
  });

  it('does not settle a folder it could not list', async () => {
    const { root } = await agentWithArchives(['a1']);
    // Listing fails (here: a file where the folder was; or EMFILE, EACCES) after the fingerprint
    // was taken: nothing was seen, so nothing may be vouched for.
    const agents = [
      { agentId: 'main', sessionsDir: join(root, 'not-a-folder'), databasePath: undefined },
    ];
    await writeFile(join(root, 'not-a-folder'), '');
    const now = { prefix: join(root, 'not-a-folder', sep), fingerprint: 'f1' };
    const survey = new Map([['main', { folder: { now, settled: false } }]]);
    const collected = await collectCandidates(agents, options(new Map(), survey));
    expect(collected.settle).toEqual([]);
  });

  it('settles a database only when every session in it is known and unchanged, and then does not open it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nexus-collect-'));
    const sessionsDir = join(root, 'sessions');
    await mkdir(sessionsDir);
    const databasePath = join(root, 'agent', 'openclaw-agent.sqlite');
    const db = new OpenClawDatabase(databasePath);
    const old = Date.now() - 3_600_000;
    for (const id of ['s1', 's2']) {
      db.append(id, [HEADER(id).trimEnd()], { createdAt: old });
      db.window({ sessionId: id, status: 'done', endedAt: old });
    }
    db.close();
    const agents = [{ agentId: 'main', sessionsDir, databasePath }];
    const now = { prefix: `sqlite:${databasePath}#`, fingerprint: 'd1' };
    const survey = new Map([['main', { database: { now } }]]);
    const entry = (id: string): LedgerEntry => ({
      ...known(`${now.prefix}${id}`),
      marker: { kind: 'database', eventCount: 1, lastSeq: 0 },
    });

    const one = new Map([[`${now.prefix}s1`, entry('s1')]]);
    const first = await collectCandidates(agents, options(one, survey));
    expect(first.settle).toEqual([]);
    for (const database of first.databases) database.close();

    const both = new Map(['s1', 's2'].map((id) => [`${now.prefix}${id}`, entry(id)]));
    const second = await collectCandidates(agents, options(both, survey));
    expect(second.settle).toEqual([{ ...now, transcripts: 2 }]);
    for (const database of second.databases) database.close();

    // Settled (and its folder too): its sessions counted, the database not even opened.
    const settled = new Map([
      [
        'main',
        {
          database: { now, settled: 2 },
          folder: { now: { prefix: join(sessionsDir, sep), fingerprint: 'f' }, settled: true },
        },
      ],
    ]);
    const third = await collectCandidates(agents, options(new Map(), settled));
    expect([third.unlisted, third.candidates.length, third.databases.length]).toEqual([2, 0, 0]);
  });
});

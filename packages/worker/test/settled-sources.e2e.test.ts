import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { buildTranscript } from '@nexus/core/testing';
import {
  JOB_TYPES,
  buildJob,
  buildServices,
  parseWorkerConfig,
  systemClock,
} from '../src/index.ts';
import { SETTLE_MS } from '../src/jobs/session-upload/settled-source.ts';
import { OpenClawDatabase } from '../src/testing/openclaw-database.ts';
import { storedGenerations, writeWorkerConfig } from '../src/testing/worker-harness.ts';

const KEY = 'settled-key-0123456789';
const HOUR = 3_600_000;

function transcript(sessionId: string, turns = 2): string {
  return buildTranscript({ sessionId, turns, idPrefix: sessionId.slice(0, 3) }).text;
}

/**
 * Runs the upload job in this process with a clock `aheadMs` ahead of the real one, so sources
 * written by the test moments ago can count as settled (`SETTLE_MS`); its counts.
 */
async function runJob(configPath: string, aheadMs: number): Promise<Record<string, number>> {
  const config = parseWorkerConfig(
    JSON.parse(readFileSync(configPath, 'utf8')) as unknown,
    configPath,
    {},
    JOB_TYPES,
  );
  const definition = config.jobs[0];
  if (!definition) throw new Error('no job in the config');
  const logger = pino({ level: 'silent' });
  const services = {
    ...buildServices(config, logger, {}),
    clock: { ...systemClock, now: () => Date.now() + aheadMs },
  };
  const result = await buildJob(definition, services).run({
    signal: new AbortController().signal,
    logger,
    dryRun: false,
    interactive: false,
  });
  return result.counts;
}

interface SettledRow {
  prefix: string;
  transcripts: number;
  fingerprint: string;
  at: string;
}

function settledRows(workerStateDir: string): SettledRow[] {
  const ledger = new DatabaseSync(join(workerStateDir, 'ledger.sqlite'), { readOnly: true });
  try {
    return ledger
      .prepare('SELECT prefix, transcripts, fingerprint, at FROM settled_sources ORDER BY prefix')
      .all() as unknown as SettledRow[];
  } finally {
    ledger.close();
  }
}

/** What was settled, and with how many transcripts. */
const settledCounts = (rows: SettledRow[]) =>
  rows.map(({ prefix, transcripts }) => ({ prefix, transcripts }));

describe('settled sources: an idle run counts what it already knows without reading it', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-settled-api-')), {
      NEXUS_API_KEYS: KEY,
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('settles a folder of archives and a database, and reads each again as soon as it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-settled-'));
    const stateDir = join(dir, 'openclaw');
    const sessionsDir = join(stateDir, 'agents', 'main', 'sessions');
    await mkdir(sessionsDir, { recursive: true });
    const archive = (id: string) => join(sessionsDir, `${id}.jsonl.reset.2026-11-25T10-00-00.000Z`);
    for (const id of ['arc-1', 'arc-2', 'arc-3']) await writeFile(archive(id), transcript(id));
    const databasePath = join(stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite');
    const db = new OpenClawDatabase(databasePath);
    const old = Date.now() - HOUR;
    for (const id of ['db-1', 'db-2']) {
      db.append(id, transcript(id).trimEnd().split('\n'), { createdAt: old });
      db.window({ sessionId: id, sessionKey: `agent:main:${id}`, status: 'done', endedAt: old });
    }
    // OpenClaw stopped: only the worker's read-only connections open the database from here.
    db.close();
    const configPath = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir,
      mode: 'keep',
      snapshots: true,
    });
    const workerState = join(dir, 'worker-state');
    const ahead = SETTLE_MS + 60_000;

    expect(await runJob(configPath, ahead)).toMatchObject({ uploaded: 5, unchanged: 0 });
    // Everything known now; written moments ago by the real clock, so not settled by it.
    expect(await runJob(configPath, 0)).toMatchObject({ uploaded: 0, unchanged: 5 });
    expect(settledRows(workerState)).toEqual([]);
    // By a clock past the settling time: both sources settled, with what they hold.
    expect(await runJob(configPath, ahead)).toMatchObject({ found: 5, unchanged: 5 });
    const settled = settledRows(workerState);
    expect(settledCounts(settled)).toEqual([
      { prefix: join(sessionsDir, '/'), transcripts: 3 },
      { prefix: `sqlite:${databasePath}#`, transcripts: 2 },
    ]);
    // The next runs find both as settled (had either been read, it would be settled anew).
    expect(await runJob(configPath, ahead)).toMatchObject({ found: 5, unchanged: 5, uploaded: 0 });
    expect(await runJob(configPath, ahead)).toMatchObject({ found: 5, unchanged: 5, uploaded: 0 });
    expect(settledRows(workerState)).toEqual(settled);

    // A new archive in the folder, a new event in a session: each source is read again.
    await writeFile(archive('arc-4'), transcript('arc-4'));
    expect(await runJob(configPath, ahead)).toMatchObject({ uploaded: 1, unchanged: 5 });
    const added = buildTranscript({ sessionId: 'db-1', turns: 3, idPrefix: 'db-' })
      .text.trimEnd()
      .split('\n')
      .slice(-2);
    const openclaw = OpenClawDatabase.reopen(databasePath);
    openclaw.append('db-1', added, { createdAt: old + 1000 });
    openclaw.close();
    expect(await runJob(configPath, ahead)).toMatchObject({ uploaded: 1, unchanged: 5 });
    // Settled again at what they are now, and still counted whole.
    expect(await runJob(configPath, ahead)).toMatchObject({ found: 6, unchanged: 6 });
    expect(await runJob(configPath, ahead)).toMatchObject({ found: 6, unchanged: 6, uploaded: 0 });
    expect(settledCounts(settledRows(workerState))).toEqual([
      { prefix: join(sessionsDir, '/'), transcripts: 4 },
      { prefix: `sqlite:${databasePath}#`, transcripts: 2 },
    ]);
    const sessions = new Set(
      (await storedGenerations(server.url, KEY, 'main')).map((generation) => generation.sessionId),
    );
    expect([...sessions].sort()).toEqual(['arc-1', 'arc-2', 'arc-3', 'arc-4', 'db-1', 'db-2']);
  });
});

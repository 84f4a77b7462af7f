import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pino from 'pino';
import { spawnServer } from '@nexus/api/testing';
import { JOB_TYPES, buildJob, buildServices, parseWorkerConfig } from '@nexus/worker';
import { OpenClawDatabase } from '@nexus/worker/testing';
import { buildTranscript } from '@nexus/core/testing';
import { KEY, envNumber, type BenchContext } from './context.ts';
import { writeSessionsFolder } from './data.ts';
import { WORKER_CLI, runMeasured } from './processes.ts';

/**
 * B4: an idle run over 100,000 files and an OpenClaw agent database of 10,000 sessions, all
 * uploaded before (keep mode): what every 15 minutes costs. `B4_FILES` and `B4_SESSIONS` set the
 * sizes.
 */
export async function benchIdleScan(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;

  const profilePath = profileTarget(process.env['B4_PROFILE']);
  const files = envNumber('B4_FILES', quick ? 2000 : 100_000, 'count');
  const sessions = envNumber('B4_SESSIONS', quick ? 200 : 10_000, 'count');
  const count = files + sessions;
  const dir = join(root, 'b4');
  const stateDir = join(dir, 'openclaw');
  log(`B4: ${files} small transcripts and ${sessions} database sessions, uploaded once (setup)...`);
  await writeSessionsFolder(
    stateDir,
    Array.from({ length: files }, () => 2048),
  );
  const db = new OpenClawDatabase(
    join(stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'),
  );
  const old = Date.now() - 3_600_000;
  db.db.exec('BEGIN');
  for (let n = 0; n < sessions; n += 1) {
    const sessionId = `b4db-${String(n).padStart(6, '0')}-0000-4000-8000-000000000000`;
    const lines = buildTranscript({ sessionId, turns: 2 }).text.split('\n').filter(Boolean);
    db.append(sessionId, lines, { createdAt: old });
    db.window({
      sessionId,
      sessionKey: `agent:main:b4-${String(n)}`,
      status: 'done',
      endedAt: old,
    });
  }
  db.db.exec('COMMIT');
  db.close();
  const server = await spawnServer(join(dir, 'api'), {
    NEXUS_API_KEYS: KEY,
    NEXUS_LOG_LEVEL: 'info',
  });
  try {
    const rawConfig = {
      nexus: { url: server.url, apiKey: KEY },
      openclaw: { stateDir },
      stateDir: join(dir, 'worker-state'),
      jobs: [
        {
          id: 'upload',
          type: 'session_upload',
          intervalMinutes: 15,
          config: { mode: 'keep', concurrency: 8 },
        },
      ],
    };
    await writeFile(join(dir, 'worker.json'), JSON.stringify(rawConfig));
    const setup = await runMeasured(
      [WORKER_CLI, '--config', join(dir, 'worker.json'), '--job', 'upload'],
      { NEXUS_LOG_LEVEL: 'warn', NEXUS_LOG_FORMAT: 'json' },
    );
    if (setup.code !== 0) throw new Error('B4 setup upload failed');
    log(
      `B4: setup took ${(setup.wallMs / 1000).toFixed(1)} s; measuring an idle run in process...`,
    );
    const config = parseWorkerConfig(rawConfig, join(dir, 'worker.json'), {}, JOB_TYPES);
    const logger = pino({ level: 'silent' });
    const definition = config.jobs[0];
    if (!definition) throw new Error('no job');
    const job = buildJob(definition, buildServices(config, logger, {}));
    const context = {
      signal: new AbortController().signal,
      logger,
      dryRun: false,
      interactive: false,
    };
    // Warm: module loading and JIT are not the scan. This run also finds everything known, and
    // settles the folder and the database (written minutes ago) for the runs after it.
    await job.run(context);
    const measure = async (profilePath?: string) => {
      const profile = await startProfile(profilePath);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const result = await job.run(context);
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      await profile.stop();
      return { result, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
    };
    const { result, wallMs, cpuMs } = await measure(profilePath);
    if (result.counts['unchanged'] !== count || result.counts['uploaded'] !== 0)
      throw new Error(`B4: expected ${count} unchanged, got ${JSON.stringify(result.counts)}`);
    // OpenClaw at work: one event appended to a session. The database is read whole again (the
    // changed session waits for quiet); the folder stays settled.
    const live = OpenClawDatabase.reopen(
      join(stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'),
    );
    const first = `b4db-${String(0).padStart(6, '0')}-0000-4000-8000-000000000000`;
    live.append(first, ['{"type":"custom","customType":"b4"}']);
    live.close();
    const changed = await measure();
    if (changed.result.counts['unchanged'] !== count - 1)
      throw new Error(
        `B4: expected ${count - 1} unchanged, got ${JSON.stringify(changed.result.counts)}`,
      );
    const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
    rows.push(
      {
        id: 'B4',
        workload: `idle run: ${files} files and ${sessions} database sessions already uploaded (keep mode; folder and database settled)`,
        figure: 'wall',
        nexus: seconds(wallMs),
        baseline: '—',
        ratio: '',
        goal: '< 1 s',
        met: wallMs < 1000 ? 'yes' : 'no',
      },
      {
        id: 'B4',
        workload: '',
        figure: 'CPU',
        nexus: seconds(cpuMs),
        baseline: '—',
        ratio: '',
        goal: '',
        met: '',
      },
      {
        id: 'B4',
        workload: 'same, one database session written since (the database is read whole)',
        figure: 'wall; CPU',
        nexus: `${seconds(changed.wallMs)}; ${seconds(changed.cpuMs)}`,
        baseline: '—',
        ratio: '',
        goal: '',
        met: '',
      },
    );
    raw['B4'] = {
      files,
      sessions,
      wallMs,
      cpuMs,
      changed: { wallMs: changed.wallMs, cpuMs: changed.cpuMs },
      setupMs: setup.wallMs,
    };
  } finally {
    await server.stop();
  }
}

/**
 * Where `B4_PROFILE` asks the profile to go, checked before the minutes of setup: its folder must
 * exist.
 */
function profileTarget(setting: string | undefined): string | undefined {
  if (setting === undefined) return undefined;
  const path = resolve(setting);
  if (setting.trim() === '' || !statSync(dirname(path), { throwIfNoEntry: false })?.isDirectory())
    throw new Error(
      `B4_PROFILE must name a file in an existing folder (e.g. /tmp/b4.cpuprofile); got ${JSON.stringify(setting)}`,
    );
  return path;
}

/**
 * A CPU profile of the measured run alone, written to `path` (`B4_PROFILE=<file>.cpuprofile`,
 * opened by Chrome's DevTools); nothing when `path` is unset.
 */
async function startProfile(path: string | undefined): Promise<{ stop(): Promise<void> }> {
  if (path === undefined) return { stop: () => Promise.resolve() };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

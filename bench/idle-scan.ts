import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { spawnServer } from '@nexus/api/testing';
import { JOB_TYPES, buildJob, buildServices, parseWorkerConfig } from '@nexus/worker';
import { KEY, type BenchContext } from './context.ts';
import { writeSessionsFolder } from './data.ts';
import { WORKER_CLI, runMeasured } from './processes.ts';

/** B4: an idle run over 20,000 files uploaded before (keep mode): what every 15 minutes costs. */
export async function benchIdleScan(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;

  const count = quick ? 2000 : 20_000;
  const dir = join(root, 'b4');
  const stateDir = join(dir, 'openclaw');
  log(`B4: ${count} small transcripts, uploaded once (setup)...`);
  await writeSessionsFolder(
    stateDir,
    Array.from({ length: count }, () => 2048),
  );
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
    await job.run(context); // warm: module loading and JIT are not the scan
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const result = await job.run(context);
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (result.counts['unchanged'] !== count || result.counts['uploaded'] !== 0)
      throw new Error(`B4: expected ${count} unchanged, got ${JSON.stringify(result.counts)}`);
    rows.push(
      {
        id: 'B4',
        workload: `idle scan: ${count} files already uploaded (keep mode)`,
        figure: 'wall',
        nexus: `${(wallMs / 1000).toFixed(3)} s`,
        baseline: '—',
        ratio: '',
        goal: '< 0.5 s',
        met: wallMs < 500 ? 'yes' : 'no',
      },
      {
        id: 'B4',
        workload: '',
        figure: 'CPU',
        nexus: `${(cpuMs / 1000).toFixed(3)} s`,
        baseline: '—',
        ratio: '',
        goal: '< 0.5 s',
        met: cpuMs < 500 ? 'yes' : 'no',
      },
    );
    raw['B4'] = { count, wallMs, cpuMs, setupMs: setup.wallMs };
  } finally {
    await server.stop();
  }
}

/**
 * Nexus benchmarks: each workload against the real components, each with a baseline measured in
 * the same run on the same data, reported as a ratio (these machines are shared and noisy; a
 * ratio travels, an absolute number does not). Prints a markdown table, writes bench/out/results.json.
 *
 *   npm run bench                 every benchmark
 *   npm run bench -- B2 B4        only these
 *   npm run bench -- --quick      smaller data (a smoke run of the benchmark code itself)
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { errorCode } from '@nexus/core';
import { spawnServer } from '@nexus/api/testing';
import { startAzurite } from '@nexus/api/testing';
import { parseWorkerConfig } from '@nexus/worker';
import { JOB_TYPES } from '@nexus/worker';
import { buildJob, buildServices } from '@nexus/worker';
import { transcriptSizes, writeLargeTranscript, writeSessionsFolder } from './data.ts';
import { WORKER_CLI, runMeasured, startNode, stop } from './processes.ts';
import { rssOf, sampleRss } from './rss.ts';
import type { BenchRow } from './row.ts';
import { benchWebhookDelivery, benchWebhookIngest } from './webhooks.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'Usage: npm run bench [-- B1 B1a B2 B3 B4 B5 ...] [-- --quick]\n\nRuns the benchmarks (all by default) and prints a markdown table; results also go to bench/out/results.json.\nBENCH_CONCURRENCY=<n> sets the uploads in flight for B1, B1a and their baseline (default 4).\n',
  );
  process.exit(0);
}
const quick = args.includes('--quick');
const only = args.filter((a) => /^B\d/.test(a));
const wanted = (id: string) => only.length === 0 || only.includes(id);
const KEY = 'bench-key';
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 4);
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1 || CONCURRENCY > 32) {
  process.stderr.write(
    `BENCH_CONCURRENCY must be a whole number from 1 to 32 (the worker's limit), not ${JSON.stringify(process.env['BENCH_CONCURRENCY'])}.\n`,
  );
  process.exit(2);
}
const MB = 1024 * 1024;
const here = fileURLToPath(new URL('.', import.meta.url));

const rows: BenchRow[] = [];
const raw: Record<string, unknown> = {};
const log = (text: string) => process.stderr.write(`${text}\n`);
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

interface NexusRun {
  wallMs: number;
  apiPeakRss: number;
  apiRssBefore: number;
  workerPeakRss: number;
  uploaded: number;
}

/** One session_upload run of a fresh worker against a fresh API, both sampled for RSS. */
async function runNexus(
  dir: string,
  stateDir: string,
  expected: number,
  apiEnv: Record<string, string>,
  /** `auto` leaves the worker's default (uncompressed to this loopback API). */
  compression: 'auto' | 'zstd',
): Promise<NexusRun> {
  // The server logs at its default level (a line per request): that cost is part of the real thing.
  const server = await spawnServer(join(dir, `api-${compression}-${String(Date.now())}`), {
    NEXUS_API_KEYS: KEY,
    ...apiEnv,
  });
  const apiPid = server.child.pid ?? 0;
  const apiRssBefore = await rssOf(apiPid);
  const apiSampler = sampleRss(apiPid);
  // A fresh worker state each time: a ledger from an earlier run would skip every file.
  const run = `${compression}-${String(Date.now())}`;
  const config = join(dir, `worker-${run}.json`);
  await writeFile(
    config,
    JSON.stringify({
      nexus: { url: server.url, apiKey: KEY },
      openclaw: { stateDir },
      stateDir: join(dir, `worker-state-${run}`),
      jobs: [
        {
          id: 'upload',
          type: 'session_upload',
          intervalMinutes: 15,
          config: {
            mode: 'keep',
            concurrency: CONCURRENCY,
            ...(compression === 'auto' ? {} : { compression }),
          },
        },
      ],
    }),
  );
  const worker = await runMeasured([WORKER_CLI, '--config', config, '--job', 'upload'], {
    NEXUS_LOG_FORMAT: 'json',
  });
  const apiPeakRss = await apiSampler.stop();
  await server.stop();
  const summary = worker.stdout
    .split('\n')
    .filter((l) => l.includes('"counts"'))
    .map((l) => JSON.parse(l) as { counts: { uploaded: number; failed: number } })
    .pop();
  const uploaded = summary?.counts.uploaded ?? 0;
  if (worker.code !== 0 || uploaded !== expected)
    throw new Error(
      `the worker uploaded ${uploaded} of ${expected} (exit ${String(worker.code)}); not a valid measurement`,
    );
  return {
    wallMs: worker.wallMs,
    apiPeakRss,
    apiRssBefore,
    workerPeakRss: worker.peakRss,
    uploaded,
  };
}

/** The same files through the minimal client/server pair, same concurrency. */
async function runBaseline(
  dir: string,
  paths: readonly string[],
): Promise<{ wallMs: number; serverPeakRss: number; clientPeakRss: number }> {
  const list = join(dir, `files-${Date.now()}.txt`);
  await writeFile(list, paths.join('\n'));
  const { child, match } = await startNode(
    [join(here, 'baseline-server.ts'), join(dir, `baseline-${Date.now()}`)],
    {},
    /listening on (\S+)/,
  );
  const serverSampler = sampleRss(child.pid ?? 0);
  const client = await runMeasured([
    join(here, 'baseline-client.ts'),
    match[1] ?? '',
    String(CONCURRENCY),
    list,
  ]);
  const serverPeakRss = await serverSampler.stop();
  await stop(child);
  if (client.code !== 0) throw new Error('the baseline client failed');
  return { wallMs: client.wallMs, serverPeakRss, clientPeakRss: client.peakRss };
}

function addThroughputRows(
  id: string,
  workload: string,
  files: number,
  bytes: number,
  nexus: NexusRun,
  baseline: { wallMs: number },
  goal: number,
) {
  const ratio = baseline.wallMs / nexus.wallMs;
  rows.push(
    {
      id,
      workload,
      figure: 'sessions/s',
      nexus: (files / (nexus.wallMs / 1000)).toFixed(0),
      baseline: (files / (baseline.wallMs / 1000)).toFixed(0),
      ratio: `${ratio.toFixed(2)}×`,
      goal: `≥ ${goal}×`,
      met: ratio >= goal ? 'yes' : 'no',
    },
    {
      id,
      workload: '',
      figure: 'MB/s',
      nexus: (bytes / MB / (nexus.wallMs / 1000)).toFixed(1),
      baseline: (bytes / MB / (baseline.wallMs / 1000)).toFixed(1),
      ratio: '',
      goal: '',
      met: '',
    },
    {
      id,
      workload: '',
      figure: 'wall',
      nexus: `${(nexus.wallMs / 1000).toFixed(2)} s`,
      baseline: `${(baseline.wallMs / 1000).toFixed(2)} s`,
      ratio: '',
      goal: '',
      met: '',
    },
    {
      id,
      workload: '',
      figure: 'peak RSS worker / API',
      nexus: `${mb(nexus.workerPeakRss)} / ${mb(nexus.apiPeakRss)}`,
      baseline: '(client / server below)',
      ratio: '',
      goal: '',
      met: '',
    },
  );
}

/**
 * Between benchmarks: the last one's files removed and the disk's dirty pages written out, so no
 * benchmark pays for the write-back of the one before (B3, which waits for a WAL fsync per batch,
 * ran at 0.26-0.28× after B1-B4 in a full run and at 0.32-0.36× alone).
 */
async function settleDisk(under: string): Promise<void> {
  for (const entry of await readdir(under))
    await rm(join(under, entry), { recursive: true, force: true });
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // No sync command (Windows): the benchmarks run anyway.
  }
}

const root = await mkdtemp(join(tmpdir(), 'nexus-bench-'));
try {
  if (wanted('B1') || wanted('B1a')) {
    const count = quick ? 100 : 1000;
    const sizes = transcriptSizes(count);
    const dir = join(root, 'b1');
    const stateDir = join(dir, 'openclaw');
    log(`B1: generating ${count} transcripts...`);
    const { paths, bytes } = await writeSessionsFolder(stateDir, sizes);
    const sorted = [...sizes].sort((a, b) => a - b);
    const workload = `${count} transcripts, ${mb(bytes)}, median ${((sorted[count >> 1] ?? 0) / 1024).toFixed(0)} KB, max ${mb(sorted[count - 1] ?? 0)}`;
    if (wanted('B1')) {
      log('B1: baseline...');
      const baseline = await runBaseline(dir, paths);
      log('B1: nexus (worker defaults: uncompressed to a loopback API)...');
      const nexus = await runNexus(dir, stateDir, count, {}, 'auto');
      log('B1: nexus (zstd forced, as to a remote API)...');
      const zstd = await runNexus(dir, stateDir, count, {}, 'zstd');
      addThroughputRows('B1', workload, count, bytes, nexus, baseline, 0.6);
      const zstdRatio = baseline.wallMs / zstd.wallMs;
      rows.push({
        id: 'B1',
        workload: '',
        figure: 'sessions/s, zstd forced',
        nexus: (count / (zstd.wallMs / 1000)).toFixed(0),
        baseline: (count / (baseline.wallMs / 1000)).toFixed(0),
        ratio: `${zstdRatio.toFixed(2)}×`,
        goal: '≥ 0.6×',
        met: zstdRatio >= 0.6 ? 'yes' : 'no',
      });
      rows.push({
        id: 'B1',
        workload: '',
        figure: 'baseline peak RSS client / server',
        nexus: '',
        baseline: `${mb(baseline.clientPeakRss)} / ${mb(baseline.serverPeakRss)}`,
        ratio: '',
        goal: '',
        met: '',
      });
      raw['B1'] = { count, bytes, baseline, nexus, zstd };
    }
    if (wanted('B1a')) {
      log('B1a: Azurite (disk-backed)...');
      const azurite = await startAzurite({ inMemory: false });
      try {
        const nexus = await runNexus(
          dir,
          stateDir,
          count,
          {
            AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
            NEXUS_AZURE_CONTAINER: 'bench',
            NEXUS_AZURE_TABLE_PREFIX: 'bench',
          },
          'auto',
        );
        let rclone = 'not installed (apt-get install rclone)';
        let ratio = '';
        let met = 'n/a';
        try {
          execFileSync('rclone', ['version'], { stdio: 'ignore' });
          const account = /AccountName=([^;]+)/.exec(azurite.connectionString)?.[1] ?? '';
          const key = /AccountKey=([^;]+)/.exec(azurite.connectionString)?.[1] ?? '';
          const endpoint = /BlobEndpoint=([^;]+)/.exec(azurite.connectionString)?.[1] ?? '';
          const started = performance.now();
          execFileSync(
            'rclone',
            [
              'copy',
              join(stateDir, 'agents', 'main', 'sessions'),
              'az:rclone-bench',
              '--transfers',
              '4',
              '--azureblob-account',
              account,
              '--azureblob-key',
              key,
              '--azureblob-endpoint',
              endpoint,
              // Azurite's plain-HTTP, path-style addressing.
              '--azureblob-use-emulator',
            ],
            {
              env: { ...process.env, RCLONE_CONFIG_AZ_TYPE: 'azureblob' },
              stdio: 'ignore',
            },
          );
          const wall = performance.now() - started;
          rclone = `${(wall / 1000).toFixed(2)} s`;
          ratio = `${(wall / nexus.wallMs).toFixed(2)}×`;
          met = nexus.wallMs <= wall ? 'yes' : 'no';
        } catch (error) {
          if (!(errorCode(error) === 'ENOENT'))
            rclone = `failed: ${error instanceof Error ? error.message.slice(0, 80) : 'error'}`;
        }
        rows.push({
          id: 'B1a',
          workload: `B1's files, API on Azure storage (Azurite)`,
          figure: 'wall',
          nexus: `${(nexus.wallMs / 1000).toFixed(2)} s`,
          baseline: `rclone copy: ${rclone}`,
          ratio,
          goal: 'Nexus ≤ rclone',
          met,
        });
        rows.push({
          id: 'B1a',
          workload: '',
          figure: 'MB/s',
          nexus: (bytes / MB / (nexus.wallMs / 1000)).toFixed(1),
          baseline: '',
          ratio: '',
          goal: '',
          met: '',
        });
        raw['B1a'] = { nexus, rclone };
      } finally {
        await azurite.stop();
      }
    }
  }

  await settleDisk(root);
  if (wanted('B2')) {
    const size = (quick ? 50 : 500) * MB;
    const dir = join(root, 'b2');
    const stateDir = join(dir, 'openclaw');
    await mkdir(join(stateDir, 'agents', 'main', 'sessions'), { recursive: true });
    const path = join(
      stateDir,
      'agents',
      'main',
      'sessions',
      'b2-big-0000-4000-8000-000000000000.jsonl.reset.2026-04-01T00-00-00.000Z',
    );
    log(`B2: writing one ${mb(size)} transcript...`);
    const bytes = await writeLargeTranscript(path, 'b2-big-0000-4000-8000-000000000000', size);
    log('B2: baseline...');
    const baseline = await runBaseline(dir, [path]);
    log('B2: nexus...');
    const nexus = await runNexus(dir, stateDir, 1, {}, 'auto');
    const ratio = baseline.wallMs / nexus.wallMs;
    const apiGrowth = nexus.apiPeakRss - nexus.apiRssBefore;
    rows.push(
      {
        id: 'B2',
        workload: `one ${mb(bytes)} transcript`,
        figure: 'MB/s',
        nexus: (bytes / MB / (nexus.wallMs / 1000)).toFixed(1),
        baseline: (bytes / MB / (baseline.wallMs / 1000)).toFixed(1),
        ratio: `${ratio.toFixed(2)}×`,
        goal: '≥ 0.5×',
        met: ratio >= 0.5 ? 'yes' : 'no',
      },
      {
        id: 'B2',
        workload: '',
        figure: 'API RSS growth',
        nexus: mb(apiGrowth),
        baseline: `server peak ${mb(baseline.serverPeakRss)}`,
        ratio: '',
        goal: '< 100 MB',
        met: apiGrowth < 100 * MB ? 'yes' : 'no',
      },
      {
        id: 'B2',
        workload: '',
        figure: 'worker peak RSS',
        nexus: mb(nexus.workerPeakRss),
        baseline: `client peak ${mb(baseline.clientPeakRss)}`,
        ratio: '',
        goal: '< 100 MB over idle',
        met: nexus.workerPeakRss < 200 * MB ? 'yes' : 'no',
      },
    );
    raw['B2'] = { bytes, baseline, nexus };
  }

  await settleDisk(root);
  if (wanted('B4')) {
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

  await settleDisk(root);
  if (wanted('B3')) await benchWebhookIngest(root, quick, rows, raw);
  await settleDisk(root);
  if (wanted('B5')) await benchWebhookDelivery(root, quick, rows, raw);
} finally {
  await rm(root, { recursive: true, force: true });
}

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB (${(freemem() / 1024 ** 3).toFixed(0)} free), Node ${process.versions.node}`;
const header =
  '| id | workload | figure | Nexus | baseline | ratio | goal | met |\n| --- | --- | --- | --- | --- | --- | --- | --- |';
const table = [
  header,
  ...rows.map(
    (r) =>
      `| ${r.id} | ${r.workload} | ${r.figure} | ${r.nexus} | ${r.baseline} | ${r.ratio} | ${r.goal} | ${r.met} |`,
  ),
].join('\n');
process.stdout.write(
  `\n${new Date().toISOString()} · ${machine}${quick ? ' · --quick' : ''}\n\n${table}\n`,
);
await mkdir(join(here, 'out'), { recursive: true });
await writeFile(
  join(here, 'out', 'results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine, quick, rows, raw }, null, 2)}\n`,
);

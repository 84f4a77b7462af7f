import { execFileSync } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer } from '@nexus/api/testing';
import { KEY, MB, mb, type BenchContext } from './context.ts';
import { WORKER_CLI, runMeasured, startNode, stop } from './processes.ts';
import { rssOf, sampleRss } from './rss.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface NexusRun {
  wallMs: number;
  /** From the worker's end until the search index had every upload (0 when it had them). */
  indexCatchUpMs: number;
  /** The API's peak RSS through the index's catch-up, and while the worker ran. */
  apiPeakRss: number;
  apiPeakRssUploads: number;
  apiRssBefore: number;
  workerPeakRss: number;
  uploaded: number;
}

/** One session_upload run of a fresh worker against a fresh API, both sampled for RSS. */
export async function runNexus(
  ctx: BenchContext,
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
  const config = await writeUploadConfig(dir, server.url, stateDir, {
    concurrency: ctx.concurrency,
    ...(compression === 'auto' ? {} : { compression }),
  });
  const worker = await runMeasured([WORKER_CLI, '--config', config, '--job', 'upload'], {
    NEXUS_LOG_FORMAT: 'json',
  });
  const apiPeakRssUploads = apiSampler.peak();
  // The index is fed behind the uploads: how long it takes after them to catch up.
  const caughtUp = performance.now();
  if (apiEnv['NEXUS_SEARCH'] !== 'off' && apiEnv['AZURE_STORAGE_CONNECTION_STRING'] === undefined)
    for (;;) {
      const status = await fetch(`${server.url}/v1/search/status`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      if (((await status.json()) as { pending: number }).pending === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  const indexCatchUpMs = performance.now() - caughtUp;
  const apiPeakRss = await apiSampler.stop();
  await server.stop();
  const uploaded = uploadedOf(worker.stdout);
  if (worker.code !== 0 || uploaded !== expected)
    throw new Error(
      `the worker uploaded ${String(uploaded)} of ${String(expected)} (exit ${String(worker.code)}); not a valid measurement`,
    );
  return {
    wallMs: worker.wallMs,
    indexCatchUpMs,
    apiPeakRss,
    apiPeakRssUploads,
    apiRssBefore,
    workerPeakRss: worker.peakRss,
    uploaded,
  };
}

/**
 * A worker config with one `session_upload` job (keep mode) over `stateDir`, to `apiUrl`, and a
 * fresh worker state (a ledger from an earlier run would skip every file). Returns its path.
 */
export async function writeUploadConfig(
  dir: string,
  apiUrl: string,
  stateDir: string,
  job: Record<string, unknown>,
): Promise<string> {
  const run = `${String(Date.now())}-${String(Math.random()).slice(2, 8)}`;
  const config = join(dir, `worker-${run}.json`);
  await writeFile(
    config,
    JSON.stringify({
      nexus: { url: apiUrl, apiKey: KEY },
      openclaw: { stateDir },
      stateDir: join(dir, `worker-state-${run}`),
      jobs: [
        {
          id: 'upload',
          type: 'session_upload',
          intervalMinutes: 15,
          config: { mode: 'keep', ...job },
        },
      ],
    }),
  );
  return config;
}

/** What a `--job upload` run's JSON log says it did: its counts and how long the job ran. */
export function runSummaryOf(stdout: string): { counts: Record<string, number>; ms: number } {
  const summary = stdout
    .split('\n')
    .filter((line) => line.includes('"counts"'))
    .map((line) => JSON.parse(line) as { counts: Record<string, number>; ms: number })
    .pop();
  return summary ?? { counts: {}, ms: 0 };
}

/** How many transcripts a `--job upload` run's JSON log says it uploaded. */
export function uploadedOf(stdout: string): number {
  return runSummaryOf(stdout).counts['uploaded'] ?? 0;
}

/** The same files through the minimal client/server pair, same concurrency. */
export async function runBaseline(
  ctx: BenchContext,
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
    String(ctx.concurrency),
    list,
  ]);
  const serverPeakRss = await serverSampler.stop();
  await stop(child);
  if (client.code !== 0) throw new Error('the baseline client failed');
  return { wallMs: client.wallMs, serverPeakRss, clientPeakRss: client.peakRss };
}

export function addThroughputRows(
  ctx: BenchContext,
  id: string,
  workload: string,
  files: number,
  bytes: number,
  nexus: NexusRun,
  baseline: { wallMs: number },
  goal: number,
) {
  const ratio = baseline.wallMs / nexus.wallMs;
  ctx.rows.push(
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
export async function settleDisk(under: string): Promise<void> {
  for (const entry of await readdir(under))
    await rm(join(under, entry), { recursive: true, force: true });
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // No sync command (Windows): the benchmarks run anyway.
  }
}

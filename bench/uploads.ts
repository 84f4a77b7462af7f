import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startAzurite } from '@nexus/api/testing';
import { MB, mb, type BenchContext } from './context.ts';
import { transcriptSizes, writeSessionsFolder } from './data.ts';
import { rcloneCopy, rcloneInstalled } from './rclone.ts';
import { addThroughputRows, runBaseline, runNexus } from './upload-runs.ts';

/**
 * B1: 1,000 transcripts of realistic sizes, worker and API on embedded storage, against a minimal
 * HTTP client and server writing the same files (same concurrency). B1a: the same files with the
 * API on Azure storage (Azurite), against `rclone copy` to the same Azurite.
 */
export async function benchUploads(
  ctx: BenchContext,
  wanted: { readonly b1: boolean; readonly b1a: boolean },
): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;

  const count = quick ? 100 : 1000;
  const sizes = transcriptSizes(count);
  const dir = join(root, 'b1');
  const stateDir = join(dir, 'openclaw');
  log(`B1: generating ${count} transcripts...`);
  const { paths, bytes } = await writeSessionsFolder(stateDir, sizes);
  const sorted = [...sizes].sort((a, b) => a - b);
  const workload = `${count} transcripts, ${mb(bytes)}, median ${((sorted[count >> 1] ?? 0) / 1024).toFixed(0)} KB, max ${mb(sorted[count - 1] ?? 0)}`;
  if (wanted.b1) {
    log('B1: baseline...');
    const baseline = await runBaseline(ctx, dir, paths);
    log('B1: nexus (worker defaults: uncompressed to a loopback API)...');
    const nexus = await runNexus(ctx, dir, stateDir, count, {}, 'auto');
    log('B1: nexus (zstd forced, as to a remote API)...');
    const zstd = await runNexus(ctx, dir, stateDir, count, {}, 'zstd');
    // Issue 20's goals: 0.8× with the worker's defaults and with zstd forced.
    addThroughputRows(ctx, 'B1', workload, count, bytes, nexus, baseline, 0.8);
    const zstdRatio = baseline.wallMs / zstd.wallMs;
    rows.push({
      id: 'B1',
      workload: '',
      figure: 'sessions/s, zstd forced',
      nexus: (count / (zstd.wallMs / 1000)).toFixed(0),
      baseline: (count / (baseline.wallMs / 1000)).toFixed(0),
      ratio: `${zstdRatio.toFixed(2)}×`,
      goal: '≥ 0.8×',
      met: zstdRatio >= 0.8 ? 'yes' : 'no',
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
  if (wanted.b1a) {
    log('B1a: Azurite (disk-backed)...');
    const azurite = await startAzurite({ inMemory: false });
    try {
      const nexus = await runNexus(
        ctx,
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
      if (rcloneInstalled()) {
        const copy = rcloneCopy(stateDir, 'rclone-bench', azurite.connectionString);
        const started = performance.now();
        try {
          execFileSync('rclone', copy.args, {
            env: { ...process.env, ...copy.env },
            stdio: 'ignore',
          });
          const wall = performance.now() - started;
          rclone = `${(wall / 1000).toFixed(2)} s`;
          ratio = `${(wall / nexus.wallMs).toFixed(2)}×`;
          met = nexus.wallMs <= wall ? 'yes' : 'no';
        } catch (error) {
          rclone = `failed: ${error instanceof Error ? error.message.slice(0, 80) : 'error'}`;
        }
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

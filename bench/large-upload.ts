import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MB, mb, type BenchContext } from './context.ts';
import { writeLargeTranscript } from './data.ts';
import { runBaseline, runNexus } from './upload-runs.ts';

/** B2: one 500 MB transcript, its throughput against the baseline, and the API's memory meanwhile. */
export async function benchLargeUpload(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;

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
  const baseline = await runBaseline(ctx, dir, [path]);
  log('B2: nexus...');
  const nexus = await runNexus(ctx, dir, stateDir, 1, {}, 'auto');
  const ratio = baseline.wallMs / nexus.wallMs;
  const apiGrowth = nexus.apiPeakRssUploads - nexus.apiRssBefore;
  const indexGrowth = nexus.apiPeakRss - nexus.apiRssBefore;
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
      figure: 'API RSS growth, upload',
      nexus: mb(apiGrowth),
      baseline: `server peak ${mb(baseline.serverPeakRss)}`,
      ratio: '',
      goal: '< 100 MB',
      met: apiGrowth < 100 * MB ? 'yes' : 'no',
    },
    {
      id: 'B2',
      workload: '',
      figure: `API RSS growth, upload and the search index's catch-up (${(nexus.indexCatchUpMs / 1000).toFixed(1)} s after it)`,
      nexus: mb(indexGrowth),
      baseline: '',
      ratio: '',
      goal: '< 100 MB',
      met: indexGrowth < 100 * MB ? 'yes' : 'no',
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

/**
 * Nexus benchmarks: each workload against the real components, each with a baseline measured in
 * the same run on the same data, reported as a ratio (these machines are shared and noisy; a
 * ratio travels, an absolute number does not). Prints a markdown table, writes bench/out/results.json.
 *
 *   npm run bench                 every benchmark
 *   npm run bench -- B2 B4        only these
 *   npm run bench -- --quick      smaller data (a smoke run of the benchmark code itself)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.ts';
import { benchDashboard } from './dashboard.ts';
import { benchIdleScan } from './idle-scan.ts';
import { benchIncrements } from './increments.ts';
import { benchLargeUpload } from './large-upload.ts';
import { benchLink } from './link.ts';
import type { BenchRow } from './row.ts';
import { settleDisk } from './upload-runs.ts';
import { benchUploads } from './uploads.ts';
import { benchIndexingCost, benchSearch } from './search.ts';
import { benchExport } from './export.ts';
import { benchWebhookDelivery, benchWebhookIngest } from './webhooks.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'Usage: npm run bench [-- B1 B1a B1w B2 B3 B4 B5 B6 B7 B8 B9 ...] [-- --quick]\n\nRuns the benchmarks (all by default) and prints a markdown table; results also go to bench/out/results.json.\nBENCH_CONCURRENCY=<n> sets the uploads in flight for B1, B1a and their baseline (default 4).\n' +
      '\nSettings from the environment:\n' +
      '  (B1a and B1w compare with rclone: apt-get install rclone)\n' +
      '  B4_FILES, B4_SESSIONS   files and agent-database sessions of the idle run (100000, 10000)\n' +
      "  B4_PROFILE=<file>       a CPU profile of B4's measured run (open in Chrome DevTools)\n" +
      '  B5_TOTAL, B5_RATE       webhooks queued (5000) and offered per second while the worker runs (200)\n' +
      "  B5_BEFORE=<commit>      run that commit's API and worker as B5's baseline (e.g. 3e3f049)\n" +
      '  B5_WORKER=<json>        extra webhook_delivery settings; B5_OPENCLAW=<cli> a real gateway\n' +
      '  B6_MESSAGES, B6_KEEP=<file>   messages indexed (1000000); keep the index file\n',
  );
  process.exit(0);
}
const quick = args.includes('--quick');
const only = args.filter((a) => /^B\d/.test(a));
const wanted = (id: string) => only.length === 0 || only.includes(id);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 4);
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1 || CONCURRENCY > 32) {
  process.stderr.write(
    `BENCH_CONCURRENCY must be a whole number from 1 to 32 (the worker's limit), not ${JSON.stringify(process.env['BENCH_CONCURRENCY'])}.\n`,
  );
  process.exit(2);
}
const here = fileURLToPath(new URL('.', import.meta.url));
const rows: BenchRow[] = [];
const raw: Record<string, unknown> = {};
const log = (text: string) => process.stderr.write(`${text}\n`);

/** Every benchmark, in the order they run: one file each. */
const BENCHMARKS: { ids: readonly string[]; run: (ctx: BenchContext) => Promise<void> }[] = [
  {
    ids: ['B1', 'B1a'],
    run: (ctx) => benchUploads(ctx, { b1: wanted('B1'), b1a: wanted('B1a') }),
  },
  { ids: ['B1w'], run: benchLink },
  { ids: ['B2'], run: benchLargeUpload },
  { ids: ['B4'], run: benchIdleScan },
  { ids: ['B3'], run: (ctx) => benchWebhookIngest(ctx.root, ctx.quick, ctx.rows, ctx.raw) },
  { ids: ['B5'], run: (ctx) => benchWebhookDelivery(ctx.root, ctx.quick, ctx.rows, ctx.raw) },
  { ids: ['B8'], run: benchIncrements },
  { ids: ['B7'], run: benchDashboard },
  { ids: ['B9'], run: benchExport },
  {
    ids: ['B6'],
    run: async (ctx) => {
      await benchSearch(ctx);
      await benchIndexingCost(ctx);
    },
  },
];

const root = await mkdtemp(join(tmpdir(), 'nexus-bench-'));
try {
  const ctx: BenchContext = { root, quick, concurrency: CONCURRENCY, rows, raw, log };
  for (const benchmark of BENCHMARKS) {
    if (!benchmark.ids.some(wanted)) continue;
    // Each starts on a settled disk: the last one's files removed, dirty pages written out.
    await settleDisk(root);
    await benchmark.run(ctx);
  }
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

import { readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { NexusClient, UPLOAD_RETRY, prepareUpload, type UploadBase } from '@nexus/worker';
import { KEY, MB, mb, type BenchContext } from './context.ts';
import { largeTranscriptChunks } from './data.ts';
import { cpuMs } from './rss.ts';

const SESSION = 'b8-grow-0000-4000-8000-000000000000';

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** The session's bytes after each of `steps` appends, cut at line ends. */
function growth(totalBytes: number, steps: number): { whole: Buffer; ends: number[] } {
  const whole = Buffer.concat([...largeTranscriptChunks(SESSION, totalBytes)]);
  const ends: number[] = [];
  for (let i = 1; i <= steps; i += 1) {
    const target = Math.floor((whole.length * i) / steps);
    const end = i === steps ? whole.length : whole.indexOf(0x0a, target) + 1;
    ends.push(end);
  }
  return { whole, ends };
}

interface Series {
  readonly sentBytes: number;
  readonly storedBytes: number;
  readonly cpuMs: number[];
  readonly downloadMs: number;
  readonly finalBytes: number;
}

/**
 * One session growing by `steps` appends, a snapshot uploaded after each: by the worker's own
 * upload code (hash, increment or whole body, client), to an API in its own process whose CPU time
 * is read before and after each upload.
 */
async function series(
  ctx: BenchContext,
  dir: string,
  data: { whole: Buffer; ends: number[] },
  incremental: boolean,
): Promise<Series> {
  const file = join(dir, `${SESSION}.jsonl`);
  const dataDir = join(dir, 'api');
  const server: ServerProcess = await spawnServer(dataDir, {
    NEXUS_API_KEYS: KEY,
    NEXUS_MAX_TRANSCRIPT_BYTES: String(1024 * MB),
  });
  const pid = server.child.pid ?? 0;
  const client = new NexusClient({
    url: server.url,
    apiKey: KEY,
    hostId: 'default',
    ...UPLOAD_RETRY,
  });
  const cpu: number[] = [];
  let sentBytes = 0;
  let base: UploadBase | undefined;
  try {
    for (const [index, end] of data.ends.entries()) {
      await writeFile(file, data.whole.subarray(0, end));
      const body = await prepareUpload(file, false, 'none', end, {
        base: incremental ? base : undefined,
      });
      const before = await cpuMs(pid);
      const outcome = await client.uploadTranscript({
        agentId: 'main',
        sessionId: SESSION,
        sha256: body.sha256,
        kind: 'live',
        fileName: `${SESSION}.jsonl`,
        encoding: body.encoding,
        body: body.body,
        ...(body.length === undefined ? {} : { length: body.length }),
        ...(body.base === undefined ? {} : { base: body.base.sha256 }),
      });
      if (outcome.outcome !== 'stored')
        throw new Error(`snapshot ${String(index)}: ${JSON.stringify(outcome)}`);
      cpu.push((await cpuMs(pid)) - before);
      sentBytes += body.sentBytes;
      base = { sha256: body.sha256, bytes: body.bytes };
      if (index % 50 === 49)
        ctx.log(
          `B8: ${incremental ? 'increments' : 'full copies'} ${String(index + 1)}/${String(data.ends.length)}`,
        );
    }
    const started = performance.now();
    const response = await fetch(
      `${server.url}/v1/hosts/default/agents/main/sessions/${SESSION}/transcripts/${base?.sha256 ?? ''}`,
      { headers: { authorization: `Bearer ${KEY}` } },
    );
    let downloaded = 0;
    for await (const chunk of response.body ?? []) downloaded += (chunk as Uint8Array).byteLength;
    const downloadMs = performance.now() - started;
    if (downloaded !== data.whole.length)
      throw new Error('B8: the download is not the whole session');
    const blobs = join(dataDir, 'data', 'blobs');
    const storedBytes =
      (await folderBytes(join(blobs, 'transcripts')).catch(() => 0)) +
      (await folderBytes(join(blobs, 'deltas')).catch(() => 0));
    return { sentBytes, storedBytes, cpuMs: cpu, downloadMs, finalBytes: data.whole.length };
  } finally {
    await server.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * B8: one session grows to 20 MB in 200 appends with a snapshot after each, sent as increments
 * (the worker's default) against full copies (the baseline, what 0.3 did).
 */
export async function benchIncrements(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;
  const total = (quick ? 2 : 20) * MB;
  const steps = quick ? 40 : 200;
  const data = growth(total, steps);
  log(`B8: one session growing to ${mb(data.whole.length)} in ${String(steps)} snapshots...`);
  const dirs = [join(root, 'b8-inc'), join(root, 'b8-full')];
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  const inc = await series(ctx, dirs[0] ?? '', data, true);
  const full = await series(ctx, dirs[1] ?? '', data, false);
  const window = Math.max(5, Math.floor(steps / 10));
  const early = (s: Series) => median(s.cpuMs.slice(1, 1 + window));
  const late = (s: Series) => median(s.cpuMs.slice(-window));
  const mean = (s: Series) => s.cpuMs.reduce((a, b) => a + b, 0) / s.cpuMs.length;
  const grew = data.ends[data.ends.length - 1 - Math.floor(window / 2)] ?? 1;
  const small = data.ends[1 + Math.floor(window / 2)] ?? 1;
  const incGrowth = late(inc) / Math.max(early(inc), 1);
  const fullGrowth = late(full) / Math.max(early(full), 1);
  const final = data.whole.length;
  rows.push(
    {
      id: 'B8',
      workload: `one session to ${mb(final)} in ${String(steps)} snapshots`,
      figure: 'bytes stored (× final size)',
      nexus: `${mb(inc.storedBytes)} (${(inc.storedBytes / final).toFixed(2)}×)`,
      baseline: `${mb(full.storedBytes)} (${(full.storedBytes / final).toFixed(1)}×)`,
      ratio: `${(full.storedBytes / inc.storedBytes).toFixed(0)}× less`,
      goal: '≤ 1.2× final',
      met: inc.storedBytes <= 1.2 * final ? 'yes' : 'no',
    },
    {
      id: 'B8',
      workload: '',
      figure: 'bytes sent (× final size)',
      nexus: `${mb(inc.sentBytes)} (${(inc.sentBytes / final).toFixed(2)}×)`,
      baseline: `${mb(full.sentBytes)} (${(full.sentBytes / final).toFixed(1)}×)`,
      ratio: `${(full.sentBytes / inc.sentBytes).toFixed(0)}× less`,
      goal: '≤ 1.2× final',
      met: inc.sentBytes <= 1.2 * final ? 'yes' : 'no',
    },
    {
      id: 'B8',
      workload: '',
      figure: 'API CPU ms per snapshot (mean)',
      nexus: mean(inc).toFixed(1),
      baseline: mean(full).toFixed(1),
      ratio: `${(mean(full) / Math.max(mean(inc), 0.1)).toFixed(1)}× less`,
      goal: '',
      met: '',
    },
    {
      id: 'B8',
      workload: '',
      figure: `API CPU growth, median of last ${String(window)} ÷ first ${String(window)} snapshots (session ${(grew / small).toFixed(0)}× larger)`,
      nexus: `${incGrowth.toFixed(1)}× (${early(inc).toFixed(0)} → ${late(inc).toFixed(0)} ms)`,
      baseline: `${fullGrowth.toFixed(1)}× (${early(full).toFixed(0)} → ${late(full).toFixed(0)} ms)`,
      ratio: '',
      goal: '≤ 3×',
      met: incGrowth <= 3 ? 'yes' : 'no',
    },
    {
      id: 'B8',
      workload: '',
      figure: 'download of the last generation, ms',
      nexus: inc.downloadMs.toFixed(0),
      baseline: full.downloadMs.toFixed(0),
      ratio: `${(full.downloadMs / inc.downloadMs).toFixed(2)}×`,
      goal: '',
      met: '',
    },
  );
  raw['B8'] = { final, steps, incremental: inc, full };
}

/**
 * B1w: uploads over a link like a user's. The worker sits behind a home uplink and the API in a
 * cloud region: a throttling relay (`throttle-proxy.ts`) between the worker and the API (on Azure
 * storage, Azurite), and the same relay, same settings, between `rclone copy` and Azurite.
 */
import { networkInterfaces } from 'node:os';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAzurite, spawnServer } from '@nexus/api/testing';
import { KEY, MB, mb, type BenchContext } from './context.ts';
import { transcriptSizes, transcriptWriter, writeSessionsFolder } from './data.ts';
import { WORKER_CLI, runMeasured } from './processes.ts';
import { cpuMs } from './rss.ts';
import { startThrottle, type LinkProfile } from './throttle-proxy.ts';
import { connectionSetting, rcloneCopy, rcloneInstalled } from './rclone.ts';
import type { BenchRow } from './row.ts';
import { runSummaryOf, writeUploadConfig } from './upload-runs.ts';

export const LINKS: readonly LinkProfile[] = [
  { name: '50 Mbit/s, 40 ms', mbitPerSecond: 50, rttMs: 40 },
  { name: '10 Mbit/s, 80 ms', mbitPerSecond: 10, rttMs: 80 },
];

interface SideRun {
  /** Wall time of the client's runs, one per snapshot, each from its start to its exit. */
  readonly wallMs: number;
  /** The worker's own time in its jobs, as its log says (what a worker running as a service spends). */
  readonly jobMs?: number;
  readonly up: number;
  readonly down: number;
  /** CPU of the client (worker or rclone) and of the server side (API and Azurite, or Azurite). */
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
}

/**
 * What the client copies: the files are in place before the first run, or (`snapshots` > 1)
 * `prepare(step)` writes each step's files before the client's run of that step.
 */
interface Workload {
  readonly stateDir: string;
  readonly snapshots: number;
  readonly prepare: (step: number) => Promise<void>;
  /** Uploads the worker must report over all its runs; fewer is not a valid measurement. */
  readonly uploads: number;
}

/** Today's OpenClaw shape: a few large live sessions, growing, snapshotted after each growth. */
const GROWING = { sessions: 4, finalBytes: 6 * MB, snapshots: 8 };

/**
 * Live sessions (named in `sessions.json`, no lock) that grow to `finalBytes` of prose in
 * `snapshots` steps cut at line ends; `prepare(step)` writes each session's bytes of that step,
 * an hour old (past the quiet window).
 */
async function growingSessions(
  stateDir: string,
  shape: typeof GROWING,
): Promise<Workload & { finalBytes: number; snapshotBytes: number }> {
  const dir = join(stateDir, 'agents', 'main', 'sessions');
  await mkdir(dir, { recursive: true });
  const write = transcriptWriter(true);
  const sessions = Array.from({ length: shape.sessions }, (_, i) => {
    const sessionId = `grow-${String(i).padStart(6, '0')}-0000-4000-8000-000000000000`;
    const whole = Buffer.from(write(sessionId, shape.finalBytes, `g${String(i)}`));
    const ends = Array.from({ length: shape.snapshots }, (_, step) =>
      step === shape.snapshots - 1
        ? whole.length
        : whole.indexOf(0x0a, Math.floor((whole.length * (step + 1)) / shape.snapshots)) + 1,
    );
    return { sessionId, path: join(dir, `${sessionId}.jsonl`), whole, ends };
  });
  const now = Date.now();
  await writeFile(
    join(dir, 'sessions.json'),
    JSON.stringify(
      Object.fromEntries(
        sessions.map((session, i) => [
          `agent:main:chat-${String(i)}`,
          { sessionId: session.sessionId, updatedAt: now, sessionFile: session.path },
        ]),
      ),
    ),
  );
  const old = (now - 3_600_000) / 1000;
  return {
    stateDir,
    snapshots: shape.snapshots,
    uploads: shape.sessions * shape.snapshots,
    finalBytes: sessions.reduce((sum, session) => sum + session.whole.length, 0),
    snapshotBytes: sessions.reduce(
      (sum, session) => sum + session.ends.reduce((all, end) => all + end, 0),
      0,
    ),
    prepare: async (step) => {
      for (const session of sessions) {
        await writeFile(session.path, session.whole.subarray(0, session.ends[step]));
        await utimes(session.path, old, old);
      }
    },
  };
}

/**
 * An address of this machine that is not loopback, for the relay to listen on: the worker then
 * sees a remote API and takes its defaults for one (zstd). `undefined` when there is none.
 */
function outsideAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces()))
    for (const address of addresses ?? [])
      if (!address.internal && address.family === 'IPv4') return address.address;
  return undefined;
}

/** `runMeasured`, refusing a run that did not exit 0. */
async function runChecked(args: string[], env: NodeJS.ProcessEnv, command?: string) {
  const run = await runMeasured(args, env, command);
  if (run.code !== 0)
    throw new Error(`${command ?? 'node'} ${args[0] ?? ''} exited with ${String(run.code)}`);
  return run;
}

export async function benchLink(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;
  const count = quick ? 100 : 1000;
  const dir = join(root, 'b1w');
  log(`B1w: generating ${String(count)} transcripts of chat-like prose...`);
  // Chat-like prose, not the builder's filler: what compression saves depends on it.
  const archivesDir = join(dir, 'archives');
  const { bytes } = await writeSessionsFolder(archivesDir, transcriptSizes(count), 'main', true);
  const archives: Workload = {
    stateDir: archivesDir,
    snapshots: 1,
    uploads: count,
    prepare: () => Promise.resolve(),
  };
  const shape = quick ? { sessions: 2, finalBytes: 2 * MB, snapshots: 4 } : GROWING;
  log(
    `B1w: generating ${String(shape.sessions)} sessions growing to ${mb(shape.finalBytes)} in ${String(shape.snapshots)} snapshots...`,
  );
  const growing = await growingSessions(join(dir, 'growing'), shape);
  const host = outsideAddress();
  const rcloneFound = rcloneInstalled();
  const results: Record<string, { nexus: SideRun; rclone?: SideRun }> = {};
  const defaults = `worker defaults${host ? '' : ' with zstd forced (no address here but loopback)'}`;
  const workloads = [
    {
      name: 'archives',
      workload: archives,
      label: (link: LinkProfile) =>
        `${String(count)} transcripts of prose (${mb(bytes)}) over ${link.name}; ${defaults}`,
      // What the files hold: every byte of them is new to the other side.
      newBytes: bytes,
    },
    {
      name: 'growing',
      workload: growing,
      label: (link: LinkProfile) =>
        `${String(shape.sessions)} live sessions of prose growing to ${mb(growing.finalBytes)} over ${link.name}, a snapshot and a run after each of ${String(shape.snapshots)} growths (${mb(growing.snapshotBytes)} of snapshots); ${defaults}`,
      // What the runs had to get across: the sessions' final bytes, each sent once at best.
      newBytes: growing.finalBytes,
    },
  ];

  for (const link of quick ? LINKS.slice(0, 1) : LINKS) {
    for (const { name, workload, label, newBytes } of workloads) {
      const azurite = await startAzurite({ inMemory: false });
      try {
        log(`B1w: ${link.name}, ${name}: nexus...`);
        const nexus = await nexusOverLink(ctx, dir, workload, azurite, link, host);
        let rclone: SideRun | undefined;
        if (rcloneFound) {
          log(`B1w: ${link.name}, ${name}: rclone copy...`);
          rclone = await rcloneOverLink(workload, azurite, link);
        }
        results[`${link.name}, ${name}`] = { nexus, ...(rclone ? { rclone } : {}) };
        rows.push(...linkRows(label(link), newBytes, nexus, rclone));
      } finally {
        await azurite.stop();
      }
    }
  }
  raw['B1w'] = {
    count,
    bytes,
    growing: { ...shape, finalBytes: growing.finalBytes, snapshotBytes: growing.snapshotBytes },
    host: host ?? 'loopback, zstd forced',
    results,
  };
}

/** B1w's rows for one workload over one link: wall, bytes on the wire, CPU per side. */
function linkRows(
  workload: string,
  newBytes: number,
  nexus: SideRun,
  rclone: SideRun | undefined,
): BenchRow[] {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const ratio = rclone ? rclone.wallMs / nexus.wallMs : undefined;
  const wire = (run: SideRun) =>
    `${mb(run.up + run.down)} (${(((run.up + run.down) / newBytes) * 100).toFixed(0)}%)`;
  const nexusWire = nexus.up + nexus.down;
  return [
    {
      id: 'B1w',
      workload,
      figure: nexus.jobMs === undefined ? 'wall' : 'wall (the worker started for each run)',
      nexus: seconds(nexus.wallMs),
      baseline: rclone
        ? `rclone copy: ${seconds(rclone.wallMs)}`
        : 'rclone not installed (apt-get install rclone)',
      ratio: ratio === undefined ? '' : `${ratio.toFixed(2)}× faster`,
      goal: '≥ 3× faster',
      met: ratio === undefined ? 'n/a' : ratio >= 3 ? 'yes' : 'no',
    },
    ...(nexus.jobMs === undefined
      ? []
      : [
          {
            id: 'B1w',
            workload: '',
            figure: "the worker's time in its runs (a worker running as a service)",
            nexus: seconds(nexus.jobMs),
            baseline: '',
            ratio: rclone ? `${(rclone.wallMs / nexus.jobMs).toFixed(2)}× faster` : '',
            goal: '',
            met: '',
          },
        ]),
    {
      id: 'B1w',
      workload: '',
      figure: 'bytes on the wire (up + down) / the new bytes',
      nexus: wire(nexus),
      baseline: rclone ? wire(rclone) : '',
      ratio: '',
      goal: '≤ 33%',
      met: nexusWire <= newBytes / 3 ? 'yes' : 'no',
    },
    {
      id: 'B1w',
      workload: '',
      figure: 'CPU s: client / server side',
      nexus: `${(nexus.clientCpuMs / 1000).toFixed(1)} / ${(nexus.serverCpuMs / 1000).toFixed(1)} (worker / API + Azurite)`,
      baseline: rclone
        ? `${(rclone.clientCpuMs / 1000).toFixed(1)} / ${(rclone.serverCpuMs / 1000).toFixed(1)} (rclone / Azurite)`
        : '',
      ratio: '',
      goal: '',
      met: '',
    },
  ];
}

/** The worker with its defaults, one `--job upload` run per snapshot, through the relay to the API. */
async function nexusOverLink(
  ctx: BenchContext,
  dir: string,
  workload: Workload,
  azurite: { connectionString: string; pid: number },
  link: LinkProfile,
  host: string | undefined,
): Promise<SideRun> {
  const server = await spawnServer(join(dir, `api-${String(Date.now())}`), {
    NEXUS_API_KEYS: KEY,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    NEXUS_AZURE_CONTAINER: 'bench',
    NEXUS_AZURE_TABLE_PREFIX: `b1w${String(Date.now())}`,
  });
  const proxy = await startThrottle(new URL(server.url).host, link, host);
  try {
    // The worker's defaults for a remote API (zstd, 8 in flight), unless there is no address
    // here but loopback, or BENCH_CONCURRENCY says otherwise.
    const config = await writeUploadConfig(dir, `http://${proxy.address}`, workload.stateDir, {
      ...(process.env['BENCH_CONCURRENCY'] === undefined ? {} : { concurrency: ctx.concurrency }),
      ...(host ? {} : { compression: 'zstd', concurrency: 8 }),
    });
    const apiPid = server.child.pid ?? 0;
    let wallMs = 0;
    let jobMs = 0;
    let clientCpuMs = 0;
    let serverCpuMs = 0;
    let uploaded = 0;
    for (let step = 0; step < workload.snapshots; step += 1) {
      await workload.prepare(step);
      const serverBefore = (await cpuMs(apiPid)) + (await cpuMs(azurite.pid));
      const worker = await runChecked([WORKER_CLI, '--config', config, '--job', 'upload'], {
        NEXUS_LOG_FORMAT: 'json',
      });
      serverCpuMs += (await cpuMs(apiPid)) + (await cpuMs(azurite.pid)) - serverBefore;
      const summary = runSummaryOf(worker.stdout);
      uploaded += summary.counts['uploaded'] ?? 0;
      wallMs += worker.wallMs;
      jobMs += summary.ms;
      clientCpuMs += worker.cpuMs;
    }
    if (uploaded !== workload.uploads)
      throw new Error(
        `B1w: the worker uploaded ${String(uploaded)} of ${String(workload.uploads)}; not a valid measurement`,
      );
    return {
      wallMs,
      ...(workload.snapshots > 1 ? { jobMs } : {}),
      ...proxy.bytes(),
      clientCpuMs,
      serverCpuMs,
    };
  } finally {
    await proxy.stop();
    await server.stop();
  }
}

/** `rclone copy` with its defaults, one run per snapshot, through the relay to Azurite. */
async function rcloneOverLink(
  workload: Workload,
  azurite: { connectionString: string; pid: number },
  link: LinkProfile,
): Promise<SideRun> {
  const blob = new URL(connectionSetting(azurite.connectionString, 'BlobEndpoint'));
  const proxy = await startThrottle(blob.host, link);
  const copy = rcloneCopy(
    workload.stateDir,
    `rclone-${String(Date.now())}`,
    azurite.connectionString,
    `http://${proxy.address}${blob.pathname}`,
  );
  try {
    let wallMs = 0;
    let clientCpuMs = 0;
    let serverCpuMs = 0;
    for (let step = 0; step < workload.snapshots; step += 1) {
      await workload.prepare(step);
      const serverBefore = await cpuMs(azurite.pid);
      const run = await runChecked(copy.args, copy.env, 'rclone');
      serverCpuMs += (await cpuMs(azurite.pid)) - serverBefore;
      wallMs += run.wallMs;
      clientCpuMs += run.cpuMs;
    }
    return { wallMs, ...proxy.bytes(), clientCpuMs, serverCpuMs };
  } finally {
    await proxy.stop();
  }
}

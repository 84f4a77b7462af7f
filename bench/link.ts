/**
 * B1w: uploads over a link like a user's. The worker sits behind a home uplink and the API in a
 * cloud region: a throttling relay (`throttle-proxy.ts`) between the worker and the API (on Azure
 * storage, Azurite), and the same relay, same settings, between `rclone copy` and Azurite.
 */
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { startAzurite, spawnServer } from '@nexus/api/testing';
import { KEY, mb, type BenchContext } from './context.ts';
import { transcriptSizes, writeSessionsFolder } from './data.ts';
import { WORKER_CLI, runMeasured } from './processes.ts';
import { cpuMs } from './rss.ts';
import { startThrottle, type LinkProfile } from './throttle-proxy.ts';
import { uploadedOf, writeUploadConfig } from './upload-runs.ts';

export const LINKS: readonly LinkProfile[] = [
  { name: '50 Mbit/s, 40 ms', mbitPerSecond: 50, rttMs: 40 },
  { name: '10 Mbit/s, 80 ms', mbitPerSecond: 10, rttMs: 80 },
];

interface SideRun {
  readonly wallMs: number;
  readonly up: number;
  readonly down: number;
  /** CPU of the client (worker or rclone) and of the server side (API and Azurite, or Azurite). */
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
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
  const stateDir = join(dir, 'openclaw');
  log(`B1w: generating ${count} transcripts of chat-like prose...`);
  // Chat-like prose, not the builder's filler: what compression saves depends on it.
  const { bytes } = await writeSessionsFolder(stateDir, transcriptSizes(count), 'main', true);
  const host = outsideAddress();
  const rcloneFound = await new Promise<boolean>((resolve) => {
    execFile('rclone', ['version'], (error) => {
      resolve(error === null);
    });
  });
  const results: Record<string, { nexus: SideRun; rclone?: SideRun }> = {};

  for (const link of quick ? LINKS.slice(0, 1) : LINKS) {
    const azurite = await startAzurite({ inMemory: false });
    try {
      log(`B1w: ${link.name}: nexus...`);
      const nexus = await nexusOverLink(ctx, dir, stateDir, count, azurite, link, host);
      let rclone: SideRun | undefined;
      if (rcloneFound) {
        log(`B1w: ${link.name}: rclone copy...`);
        rclone = await rcloneOverLink(stateDir, azurite, link);
      }
      results[link.name] = { nexus, ...(rclone ? { rclone } : {}) };
      const ratio = rclone ? rclone.wallMs / nexus.wallMs : undefined;
      const wire = nexus.up + nexus.down;
      rows.push(
        {
          id: 'B1w',
          workload: `${count} transcripts of prose (${mb(bytes)}) over ${link.name}; worker defaults${host ? '' : ' with zstd forced (no address here but loopback)'}`,
          figure: 'wall',
          nexus: `${(nexus.wallMs / 1000).toFixed(1)} s`,
          baseline: rclone
            ? `rclone copy: ${(rclone.wallMs / 1000).toFixed(1)} s`
            : 'rclone not installed (apt-get install rclone)',
          ratio: ratio === undefined ? '' : `${ratio.toFixed(2)}× faster`,
          goal: '≥ 3× faster',
          met: ratio === undefined ? 'n/a' : ratio >= 3 ? 'yes' : 'no',
        },
        {
          id: 'B1w',
          workload: '',
          figure: 'bytes on the wire (up + down) / the files',
          nexus: `${mb(wire)} (${((wire / bytes) * 100).toFixed(0)}%)`,
          baseline: rclone
            ? `${mb(rclone.up + rclone.down)} (${(((rclone.up + rclone.down) / bytes) * 100).toFixed(0)}%)`
            : '',
          ratio: '',
          goal: '≤ 33%',
          met: wire <= bytes / 3 ? 'yes' : 'no',
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
      );
    } finally {
      await azurite.stop();
    }
  }
  raw['B1w'] = { count, bytes, host: host ?? 'loopback, zstd forced', results };
}

async function nexusOverLink(
  ctx: BenchContext,
  dir: string,
  stateDir: string,
  count: number,
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
    const config = await writeUploadConfig(dir, `http://${proxy.address}`, stateDir, {
      ...(process.env['BENCH_CONCURRENCY'] === undefined ? {} : { concurrency: ctx.concurrency }),
      ...(host ? {} : { compression: 'zstd', concurrency: 8 }),
    });
    const apiPid = server.child.pid ?? 0;
    const serverBefore = (await cpuMs(apiPid)) + (await cpuMs(azurite.pid));
    const worker = await runChecked([WORKER_CLI, '--config', config, '--job', 'upload'], {
      NEXUS_LOG_FORMAT: 'json',
    });
    const serverAfter = (await cpuMs(apiPid)) + (await cpuMs(azurite.pid));
    const uploaded = uploadedOf(worker.stdout);
    if (uploaded !== count)
      throw new Error(
        `B1w: the worker uploaded ${String(uploaded)} of ${String(count)}; not a valid measurement`,
      );
    return {
      wallMs: worker.wallMs,
      ...proxy.bytes(),
      clientCpuMs: worker.cpuMs,
      serverCpuMs: serverAfter - serverBefore,
    };
  } finally {
    await proxy.stop();
    await server.stop();
  }
}

async function rcloneOverLink(
  stateDir: string,
  azurite: { connectionString: string; pid: number },
  link: LinkProfile,
): Promise<SideRun> {
  const setting = (name: string) =>
    new RegExp(`${name}=([^;]+)`).exec(azurite.connectionString)?.[1] ?? '';
  const blob = new URL(setting('BlobEndpoint'));
  const proxy = await startThrottle(blob.host, link);
  try {
    const serverBefore = await cpuMs(azurite.pid);
    const run = await runChecked(
      [
        'copy',
        join(stateDir, 'agents', 'main', 'sessions'),
        `az:rclone-${String(Date.now())}`,
        '--transfers',
        '4',
        '--azureblob-account',
        setting('AccountName'),
        '--azureblob-key',
        setting('AccountKey'),
        '--azureblob-endpoint',
        `http://${proxy.address}${blob.pathname}`,
        // Azurite's plain-HTTP, path-style addressing.
        '--azureblob-use-emulator',
      ],
      { RCLONE_CONFIG_AZ_TYPE: 'azureblob' },
      'rclone',
    );
    const serverAfter = await cpuMs(azurite.pid);
    return {
      wallMs: run.wallMs,
      ...proxy.bytes(),
      clientCpuMs: run.cpuMs,
      serverCpuMs: serverAfter - serverBefore,
    };
  } finally {
    await proxy.stop();
  }
}

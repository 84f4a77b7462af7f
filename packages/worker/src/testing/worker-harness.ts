import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export interface WorkerRun {
  readonly code: number | null;
  readonly lines: {
    msg?: string;
    level?: number;
    counts?: Record<string, number>;
    [key: string]: unknown;
  }[];
  readonly stderr: string;
}

export async function writeWorkerConfig(
  dir: string,
  options: {
    url: string;
    apiKey: string;
    stateDir: string;
    mode: 'keep' | 'move';
    concurrency?: number;
    /** Default here `false` (the tests of completed uploads); `'default'` leaves it out of the file. */
    snapshots?: boolean | 'default';
    /** Unset: the default (`auto`, which sends uncompressed to these loopback servers). */
    compression?: 'auto' | 'zstd' | 'gzip' | 'none';
  },
): Promise<string> {
  const path = join(dir, 'worker.json');
  await writeFile(
    path,
    JSON.stringify({
      nexus: { url: options.url, apiKey: options.apiKey },
      openclaw: { stateDir: options.stateDir },
      stateDir: join(dir, 'worker-state'),
      jobs: [
        {
          id: 'session-upload',
          type: 'session_upload',
          intervalMinutes: 15,
          config: {
            mode: options.mode,
            archiveDir: join(dir, 'archive'),
            concurrency: options.concurrency ?? 4,
            ...(options.snapshots === 'default' ? {} : { snapshots: options.snapshots ?? false }),
            ...(options.compression ? { compression: options.compression } : {}),
          },
        },
      ],
    }),
  );
  return path;
}

/** Runs `nexus-worker --job <id>` as a separate process, as a user or systemd would. */
export function runWorkerJob(
  configPath: string,
  extra: string[] = [],
  jobId = 'session-upload',
): Promise<WorkerRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, '--config', configPath, '--job', jobId, ...extra],
      { env: { ...process.env, NEXUS_LOG_LEVEL: 'info' } },
      (error, stdout, stderr) => {
        const lines = stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as WorkerRun['lines'][number]);
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          lines,
          stderr,
        });
      },
    );
  });
}

/**
 * Starts the worker job and SIGKILLs it as soon as `ready()` says enough progress was made, so the
 * kill lands mid-run however fast the machine is. Resolves to whether the kill happened (false:
 * the run finished first).
 */
export function killWorkerWhen(
  configPath: string,
  ready: () => Promise<boolean>,
): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [CLI, '--config', configPath, '--job', 'session-upload'],
      { stdio: 'ignore' },
    );
    let exited = false;
    child.once('exit', (_code, signal) => {
      exited = true;
      resolve(signal === 'SIGKILL');
    });
    const poll = async () => {
      while (!exited) {
        if (await ready()) {
          child.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    void poll();
  });
}

export function summaryOf(run: WorkerRun): Record<string, number> {
  const last = [...run.lines].reverse().find((line) => line.counts !== undefined);
  if (!last?.counts)
    throw new Error(
      `no summary in the worker output:\n${run.stderr}\n${JSON.stringify(run.lines.slice(-5))}`,
    );
  return last.counts;
}

/** Every stored generation's (session id, sha256), read back through the API. */
export async function storedGenerations(
  url: string,
  apiKey: string,
  agentId: string,
): Promise<{ sessionId: string; sha256: string; kind: string }[]> {
  const headers = { authorization: `Bearer ${apiKey}` };
  const list = (await (
    await fetch(`${url}/v1/agents/${agentId}/sessions?limit=1000`, { headers })
  ).json()) as { sessions?: { sessionId: string }[] };
  const out: { sessionId: string; sha256: string; kind: string }[] = [];
  for (const session of list.sessions ?? []) {
    const detail = (await (
      await fetch(`${url}/v1/agents/${agentId}/sessions/${session.sessionId}`, { headers })
    ).json()) as { generations: { sha256: string; kind: string }[] };
    for (const g of detail.generations)
      out.push({ sessionId: session.sessionId, sha256: g.sha256, kind: g.kind });
  }
  return out;
}

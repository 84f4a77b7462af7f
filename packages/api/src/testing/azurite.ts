import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

/** The well-known development account every Azurite instance accepts. */
const ACCOUNT = 'devstoreaccount1';
const KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  readonly connectionString: string;
  /** Its process, to read its CPU time (benchmarks). */
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts Azurite from `node_modules` on free ports (port 0, read back from its output), so tests
 * and benchmarks need nothing installed by hand. `--skipApiVersionCheck` lets newer SDKs talk to it.
 */
export async function startAzurite(options: { inMemory?: boolean } = {}): Promise<RunningAzurite> {
  const entry = createRequire(import.meta.url).resolve('azurite/dist/src/azurite.js');
  const location = await mkdtemp(join(tmpdir(), 'nexus-azurite-'));
  const args = [
    entry,
    '--blobPort',
    '0',
    '--queuePort',
    '0',
    '--tablePort',
    '0',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    ...(options.inMemory === false ? ['--location', location] : ['--inMemoryPersistence']),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ports = await readPorts(child);
  const connectionString = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${ACCOUNT}`,
    `AccountKey=${KEY}`,
    `BlobEndpoint=http://127.0.0.1:${ports.blob}/${ACCOUNT}`,
    `TableEndpoint=http://127.0.0.1:${ports.table}/${ACCOUNT}`,
  ].join(';');
  return {
    connectionString,
    pid: child.pid ?? 0,
    async stop() {
      // Azurite closes its services on SIGTERM but its process may linger; and an 'exit' event
      // can be missed. So the process itself is asked whether it is gone, with SIGKILL after 5 s.
      const pid = child.pid;
      if (pid !== undefined && isAlive(pid)) {
        child.kill('SIGTERM');
        const deadline = Date.now() + 5000;
        while (isAlive(pid) && Date.now() < deadline) await delay(50);
        if (isAlive(pid)) child.kill('SIGKILL');
        while (isAlive(pid)) await delay(50);
      }
      await rm(location, { recursive: true, force: true });
    },
  };
}

function readPorts(child: ChildProcess): Promise<{ blob: number; table: number }> {
  return new Promise((resolve, reject) => {
    const found: { blob?: number; table?: number } = {};
    const output: string[] = [];
    const timer = setTimeout(() => {
      fail(new Error('Azurite did not start within 30 s'));
    }, 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${output.join('\n')}`));
    };
    child.once('exit', (code) => {
      fail(new Error(`Azurite exited with code ${String(code)}`));
    });
    child.once('error', fail);
    if (!child.stdout) {
      fail(new Error('Azurite has no stdout'));
      return;
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      const match =
        /Azurite (Blob|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(line);
      if (match?.[1] === 'Blob') found.blob = Number(match[2]);
      if (match?.[1] === 'Table') found.table = Number(match[2]);
      if (found.blob !== undefined && found.table !== undefined) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ blob: found.blob, table: found.table });
      }
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

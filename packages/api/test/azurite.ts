import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The well-known development account every Azurite instance accepts. */
const ACCOUNT = 'devstoreaccount1';
const KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  readonly connectionString: string;
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
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
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

/**
 * `npm start`: runs Nexus on this machine, the API (embedded storage) and the worker against it,
 * as two child processes with their output prefixed. The worker gets the API's URL and key through
 * its environment, so its config (written by `nexus-worker init` when missing) needs no editing.
 *
 *   npm start [-- --help]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from '@nexus/api';
import { defaultConfigPath } from '@nexus/worker';

const HELP = `Usage: npm start

Starts the Nexus API on embedded storage (data in $NEXUS_DATA_DIR or ~/.nexus) and the Nexus
worker against it (config in $NEXUS_WORKER_CONFIG or ~/.nexus/worker.json, created when missing,
pointed at $OPENCLAW_STATE_DIR or ~/.openclaw). Ctrl-C stops both.

Environment: every variable of "nexus serve --help" and of the worker (README, "Configuration").
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const apiCli = join(root, 'packages/api/src/cli/main.ts');
const workerCli = join(root, 'packages/worker/src/cli/main.ts');
const env = {
  ...process.env,
  NEXUS_LOG_FORMAT: process.env['NEXUS_LOG_FORMAT'] ?? (process.stdout.isTTY ? 'pretty' : 'json'),
};
const dataDir = defaultDataDir(process.env);
const workerConfig = defaultConfigPath(process.env);
const children: ChildProcess[] = [];

function start(
  name: string,
  args: string[],
  childEnv: NodeJS.ProcessEnv,
  onLine?: (line: string) => void,
): ChildProcess {
  const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      process.stdout.write(`[${name}] ${line}\n`);
      onLine?.(line);
    });
  }
  child.once('exit', (code, signal) => {
    process.stdout.write(`[${name}] exited (${signal ?? `code ${String(code)}`})\n`);
    stopAll();
  });
  return child;
}

let stopping = false;
function stopAll(): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);

const url = await new Promise<string>((resolve) => {
  start('api', [apiCli, 'serve', '--data-dir', dataDir], env, (line) => {
    const match = /listening on (http:\/\/[^\s"(]+)/.exec(line);
    if (match?.[1]) resolve(match[1]);
  });
});

const apiKey =
  process.env['NEXUS_API_KEYS']?.split(',')[0]?.trim() ??
  readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
const workerEnv = {
  ...env,
  NEXUS_URL: url,
  NEXUS_API_KEY: apiKey,
  NEXUS_WORKER_CONFIG: workerConfig,
};
if (!existsSync(workerConfig)) {
  const init = spawnSync(process.execPath, [workerCli, 'init', '--nexus-url', url], {
    env: workerEnv,
    encoding: 'utf8',
  });
  for (const line of `${init.stdout}${init.stderr}`.trim().split('\n'))
    process.stdout.write(`[init] ${line}\n`);
}
process.stdout.write(
  `[nexus] dashboard: ${url}/ (log in with ${process.env['NEXUS_API_KEYS'] === undefined ? `the key in ${join(dataDir, 'api-key')}` : 'a key of NEXUS_API_KEYS'})\n`,
);
const openclaw = process.env['OPENCLAW_STATE_DIR'] ?? join(homedir(), '.openclaw');
process.stdout.write(
  existsSync(openclaw)
    ? `[nexus] worker uploads completed transcripts from ${openclaw} to ${url}\n`
    : `[nexus] no OpenClaw state folder at ${openclaw}: the worker will find nothing until OpenClaw runs there. See it work on sample data: npm run demo\n`,
);
start('worker', [workerCli], workerEnv);

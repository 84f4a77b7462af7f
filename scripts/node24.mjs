#!/usr/bin/env node
// Runs a command under Node.js 24 or newer, fetching Node 24 from the npm registry when the
// machine's own node is older. Nexus targets Node 24 (zstd in zlib, node:sqlite, type stripping);
// many machines still ship Node 20, and this keeps `npm start` and `npm test` one command there too.
// Plain JavaScript on purpose: it must run on the old node it replaces.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

const REQUIRED_MAJOR = 24;
const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/node24.mjs <command> [args...]');
  process.exit(2);
}

const binDir = currentNodeIsNewEnough() ? undefined : ensureNode24();
const env = { ...process.env };
if (binDir) env.PATH = `${binDir}${delimiter}${env.PATH ?? ''}`;

const child = spawn(command, args, { stdio: 'inherit', env, shell: process.platform === 'win32' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('error', (error) => {
  console.error(`could not start ${command}: ${error.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});

function currentNodeIsNewEnough() {
  return Number(process.versions.node.split('.')[0]) >= REQUIRED_MAJOR;
}

function ensureNode24() {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const pkg = `node-${platform}-${process.arch}`;
  const cacheDir =
    process.env.NEXUS_NODE_CACHE ?? join(homedir(), '.cache', 'nexus', `node${REQUIRED_MAJOR}`);
  const bin =
    platform === 'win'
      ? join(cacheDir, 'node_modules', pkg, 'bin')
      : join(cacheDir, 'node_modules', pkg, 'bin');
  const nodePath = join(bin, platform === 'win' ? 'node.exe' : 'node');
  if (!existsSync(nodePath)) {
    console.error(
      `Node ${process.versions.node} is older than ${REQUIRED_MAJOR}; fetching ${pkg}@${REQUIRED_MAJOR} into ${cacheDir} (once)...`,
    );
    mkdirSync(cacheDir, { recursive: true });
    const result = spawnSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--prefix',
        cacheDir,
        `${pkg}@${REQUIRED_MAJOR}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], shell: process.platform === 'win32' },
    );
    if (result.status !== 0 || !existsSync(nodePath)) {
      console.error(
        `Could not fetch Node ${REQUIRED_MAJOR} (${pkg}). Install Node ${REQUIRED_MAJOR} yourself (see .nvmrc) and run the command again.`,
      );
      process.exit(1);
    }
  }
  return bin;
}

#!/usr/bin/env node
// `npm run test:openclaw`: the opt-in tests against a real OpenClaw. Installs the OpenClaw these
// tests were written against from npm into ~/.cache/nexus/openclaw (once), then runs the
// `openclaw` test project with NEXUS_TEST_OPENCLAW naming its CLI. Plain JavaScript, run by Node 24
// (scripts/node24.mjs), which OpenClaw needs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const VERSION = process.env.NEXUS_OPENCLAW_VERSION ?? '2026.9.6';
const dir = join(homedir(), '.cache', 'nexus', `openclaw-${VERSION}`);
const bin = join(dir, 'node_modules', '.bin', 'openclaw');
if (!existsSync(bin)) {
  console.error(`Installing openclaw@${VERSION} into ${dir} (once)...`);
  mkdirSync(dir, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const installed = spawnSync(
    npm,
    [
      'install',
      '--prefix',
      dir,
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      `openclaw@${VERSION}`,
    ],
    { stdio: 'inherit' },
  );
  if (installed.status !== 0) {
    console.error(`could not install openclaw@${VERSION} (npm exited ${String(installed.status)})`);
    process.exit(1);
  }
}
const child = spawn('vitest', ['run', '--project', 'openclaw', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NEXUS_TEST_OPENCLAW: bin },
});
child.on('exit', (code) => process.exit(code ?? 1));

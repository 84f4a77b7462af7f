import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createOpenClawFixture } from '../src/testing/openclaw-fixture.ts';

const PACK = fileURLToPath(new URL('../scripts/pack-worker.ts', import.meta.url));
const MANIFEST = fileURLToPath(new URL('../package.json', import.meta.url));

function run(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * What a second host does: install the packed worker from its tarball into a clean prefix (npm
 * fetches only its runtime dependencies from the registry), then run it from PATH, with no clone of
 * the repository and no TypeScript.
 */
describe('the worker as an npm package', () => {
  it('packs, installs into a clean prefix, and runs --version, init and a dry run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-pack-'));
    const packed = await run(process.execPath, [PACK, '--out', join(dir, 'out')]);
    expect(packed.code, packed.stderr).toBe(0);
    const [tarball] = await readdir(join(dir, 'out'));
    const { version } = JSON.parse(await readFile(MANIFEST, 'utf8')) as { version: string };
    expect(tarball).toBe(`nexus-worker-${version}.tgz`);

    const prefix = join(dir, 'prefix');
    const installed = await run('npm', [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      join(dir, 'out', tarball ?? ''),
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    // Only the worker's own dependencies: no Azure SDK, no web framework, no test tools.
    const modules = await readdir(
      join(prefix, 'lib', 'node_modules', 'nexus-worker', 'node_modules'),
    );
    expect(modules).toEqual(expect.arrayContaining(['pino', 'zod', 'json5']));
    for (const unwanted of ['@azure', 'hono', '@hono', 'vitest', 'typescript', 'esbuild', '@nexus'])
      expect(modules).not.toContain(unwanted);

    // On PATH, with this Node (24) first, as on a host that has it.
    const home = join(dir, 'home');
    await mkdir(home);
    const env = {
      HOME: home,
      PATH: [join(prefix, 'bin'), dirname(process.execPath), process.env['PATH'] ?? ''].join(
        delimiter,
      ),
      NEXUS_API_KEY: 'package-test-key-0123456789',
      NEXUS_LOG_FORMAT: 'json',
    };
    const shown = await run('nexus-worker', ['--version'], env);
    expect(shown.stdout).toBe(`${version}\n`);

    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const init = await run(
      'nexus-worker',
      ['init', '--openclaw-dir', fixture.stateDir, '--host', 'packed-host'],
      env,
    );
    expect(init.stdout).toMatch(/Host: packed-host/);
    const dry = await run('nexus-worker', ['--job', 'session-upload', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    const summary = dry.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string })
      .at(-1);
    // The completed ones, the extra part, and (continuous backup, init's default) the quiet,
    // unlocked live session; not the one whose lock is held.
    expect(summary?.msg).toBe(
      `dry run: ${String(fixture.completed.length + 2)} of ${String(fixture.completed.length + 1 + fixture.live.length)} transcripts would be uploaded`,
    );
  }, 180_000);
});

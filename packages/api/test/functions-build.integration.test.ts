import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('../scripts/build-functions.ts', import.meta.url));

describe('the Azure Functions build', () => {
  it(
    'bundles a self-contained folder whose entry point registers the nexus function',
    { timeout: 60_000 },
    async () => {
      const out = await mkdtemp(join(tmpdir(), 'nexus-functions-build-'));
      await run(process.execPath, [BUILD, '--out', out]);

      const host = JSON.parse(await readFile(join(out, 'host.json'), 'utf8')) as {
        extensions: { http: { routePrefix: string } };
      };
      expect(host.extensions.http.routePrefix).toBe('');
      const manifest = JSON.parse(await readFile(join(out, 'package.json'), 'utf8')) as {
        main: string;
      };
      expect(manifest.main).toBe('main.mjs');

      // Outside the Functions host, @azure/functions runs in test mode and reports each
      // registration it skips: the bundle loads with no node_modules and registers "nexus".
      const { stdout, stderr } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `await import(${JSON.stringify(join(out, 'main.mjs'))}); console.log('loaded');`,
        ],
        {
          cwd: out,
        },
      );
      const output = stdout + stderr;
      expect(output).toContain('HTTP streaming enabled');
      expect(output).toMatch(/register function "nexus"/);
      expect(output).toMatch(/register function "nexus-search-index"/);
      expect(output).toContain('loaded');
    },
  );
});

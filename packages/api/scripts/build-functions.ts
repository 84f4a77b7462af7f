/**
 * Builds the Azure Functions deployment folder: one bundled `main.js` (workspace packages and
 * npm dependencies included, so nothing needs installing on the host), `host.json`, and a
 * `package.json` naming the entry point.
 *
 *   npm run build:functions [-- --out <dir>]     (default: dist/azure-functions)
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const HELP = `Usage: npm run build:functions [-- --out <dir>]

Bundles the Nexus API for Azure Functions into <dir> (default dist/azure-functions).
Deploy it with: func azure functionapp publish <app-name>   (see docs/DEPLOY-AZURE.md)
`;

const { values } = parseArgs({
  options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const here = import.meta.dirname;
const root = resolve(here, '../../..');
const out = resolve(values.out ?? join(root, 'dist', 'azure-functions'));
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const started = performance.now();
const result = await build({
  entryPoints: [join(here, '../src/azure-functions/main.ts')],
  outfile: join(out, 'main.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // Provided by the Functions host's Node worker, not an npm package.
  external: ['@azure/functions-core'],
  // Bundled CommonJS dependencies call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __nexusCreateRequire } from 'node:module'; const require = __nexusCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
await copyFile(join(here, '../azure/host.json'), join(out, 'host.json'));
await writeFile(
  join(out, 'package.json'),
  `${JSON.stringify({ name: 'nexus-functions', private: true, type: 'module', main: 'main.mjs', engines: { node: '>=22' } }, null, 2)}\n`,
);
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stdout.write(
  `Built ${out} (${(bytes / 1024 / 1024).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms\n`,
);

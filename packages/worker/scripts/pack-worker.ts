/**
 * Packs the worker into an npm package a second host installs without this repository:
 * `nexus-worker-<version>.tgz`, holding the worker and core bundled into one JavaScript file
 * (Node does not strip types inside node_modules), a launcher that checks the Node version, and a
 * package.json that names only the worker's runtime dependencies (npm installs them).
 *
 *   npm run pack:worker [-- --out <dir>]      (default: dist/)
 *   npm install -g dist/nexus-worker-<version>.tgz
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const HELP = `Usage: npm run pack:worker [-- --out <dir>]

Builds dist/nexus-worker-<version>.tgz (or in <dir>): install it on an OpenClaw host with
  npm install -g nexus-worker-<version>.tgz        (Node 24 or newer)
then: nexus-worker enrol --url <api> --code <code>   (docs/WORKER.md)
`;

const { values } = parseArgs({
  options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const here = import.meta.dirname;
const workerDir = resolve(here, '..');
const root = resolve(workerDir, '../..');
const out = resolve(values.out ?? join(root, 'dist'));
const manifest = JSON.parse(await readFile(join(workerDir, 'package.json'), 'utf8')) as {
  version: string;
  description: string;
  dependencies: Record<string, string>;
};
const staging = await mkdtemp(join(tmpdir(), 'nexus-worker-pack-'));
const started = performance.now();
try {
  await mkdir(join(staging, 'dist'));
  await build({
    entryPoints: [join(workerDir, 'src/cli/main.ts')],
    outfile: join(staging, 'dist', 'nexus-worker.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // npm installs these from the package.json below; core, a workspace package, is bundled.
    external: Object.keys(manifest.dependencies).filter((name) => !name.startsWith('@nexus/')),
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  // A launcher that can run on an old Node: the bundle's imports (node:sqlite) fail before any
  // of its code runs, with an error that says nothing about the version.
  await writeFile(
    join(staging, 'dist', 'cli.mjs'),
    `#!/usr/bin/env node
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(\`nexus-worker needs Node.js 24 or newer (this is \${process.version}); install it from https://nodejs.org or with your version manager.\\n\`);
  process.exit(2);
}
await import('./nexus-worker.mjs');
`,
    { mode: 0o755 },
  );
  const dependencies = Object.fromEntries(
    Object.entries(manifest.dependencies).filter(([name]) => !name.startsWith('@nexus/')),
  );
  await writeFile(
    join(staging, 'package.json'),
    `${JSON.stringify(
      {
        name: 'nexus-worker',
        version: manifest.version,
        description: manifest.description,
        license: 'MIT',
        type: 'module',
        bin: { 'nexus-worker': 'dist/cli.mjs' },
        files: ['dist', 'README.md'],
        engines: { node: '>=24' },
        dependencies,
      },
      null,
      2,
    )}\n`,
  );
  await copyFile(join(here, 'PACKAGE-README.md'), join(staging, 'README.md'));
  await mkdir(out, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], {
    cwd: staging,
    encoding: 'utf8',
  }).trim();
  process.stdout.write(
    `Packed ${join(out, tarball)} in ${Math.round(performance.now() - started)} ms\nInstall it on an OpenClaw host: npm install -g ${join(out, tarball)}\n`,
  );
} finally {
  await rm(staging, { recursive: true, force: true });
}

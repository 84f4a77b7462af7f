#!/usr/bin/env node
// The entry point only turns on Node's compile cache, then loads the CLI: modules (TypeScript
// already stripped, V8 code compiled) are kept between runs, which halves start-up (0.17 to
// 0.08 s for --help on the bench machine). The cache lives under the OS temp folder, or where
// NODE_COMPILE_CACHE points; if it cannot be written, the CLI simply starts uncached.
// `serve` first replaces itself with a `node` whose young generation is capped (see
// young-generation.ts); where `execve` does not exist (Windows) it runs with V8's default.
import { enableCompileCache } from 'node:module';
import { serveReexecArgs } from './young-generation.ts';

enableCompileCache();
const reexec = serveReexecArgs(
  process.execPath,
  process.execArgv,
  process.argv,
  process.env['NODE_OPTIONS'],
);
if (reexec !== undefined && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, reexec, process.env);
  } catch {
    // Not replaced (a limit of the platform): serve with V8's default young generation.
  }
}
await import('./nexus-cli.ts');

/**
 * V8's young generation for the long-running `nexus serve`. Node 24 lets it grow to 64 MiB
 * (two 32 MiB semi-spaces) under a high allocation rate, and the pages stay with the process: one
 * 500 MB upload, which parses every line of the transcript, grew the API's RSS by 105-112 MB
 * (bench B2), most of it young generation. Semi-spaces of 8 MiB keep that growth under 100 MB
 * at the same throughput (bench/RESULTS.md, sixteenth session).
 *
 * The size is a flag of the `node` command: V8 reads it once, when the heap is set up, so setting
 * it from inside the process has no effect. `serve` therefore replaces itself (`execve`: the same
 * process id, no parent left behind, signals reach it directly) with the same command plus the
 * flag, once, before anything else runs.
 */
export const SERVE_SEMI_SPACE_MB = 8;

const FLAG = '--max-semi-space-size';

/**
 * The arguments to re-execute `node` with, or `undefined` when the process should go on as it
 * is: not `serve` (short commands never grow a heap), `--help`, or a semi-space size already
 * chosen by whoever started it (on the command line or in `NODE_OPTIONS`).
 */
export function serveReexecArgs(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
  nodeOptions: string | undefined,
): string[] | undefined {
  const args = argv.slice(2);
  if (args[0] !== 'serve' || args.includes('--help') || args.includes('-h')) return undefined;
  const chosen = (arg: string) => arg === FLAG || arg.startsWith(`${FLAG}=`);
  if (execArgv.some(chosen)) return undefined;
  if ((nodeOptions ?? '').split(/\s+/).some(chosen)) return undefined;
  return [execPath, `${FLAG}=${String(SERVE_SEMI_SPACE_MB)}`, ...execArgv, ...argv.slice(1)];
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sampleProcess } from './rss.ts';

export const WORKER_CLI = fileURLToPath(
  new URL('../packages/worker/src/cli/main.ts', import.meta.url),
);

/** Starts a Node script and resolves with the first output line matching `ready`. */
export function startNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`${args[0] ?? ''} exited with ${String(code)} before it was ready`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = ready.exec(line);
      if (match) resolve({ child, match });
    });
  });
}

/**
 * Runs a Node script (or, with `command`, any program) to its end, sampling it; returns wall
 * time, peak RSS, CPU time (as last sampled) and stdout.
 */
export function runMeasured(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  command: string = process.execPath,
): Promise<{
  wallMs: number;
  peakRss: number;
  cpuMs: number;
  stdout: string;
  code: number | null;
}> {
  const started = performance.now();
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const sampler = sampleProcess(child.pid ?? 0);
  const parts: Buffer[] = [];
  child.stdout.on('data', (part: Buffer) => parts.push(part));
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      void sampler.stop();
      reject(error);
    });
    child.once('exit', (code) => {
      const wallMs = performance.now() - started;
      void sampler.stop().then(({ peakRss, cpuMs }) => {
        resolve({ wallMs, peakRss, cpuMs, stdout: Buffer.concat(parts).toString('utf8'), code });
      });
    });
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

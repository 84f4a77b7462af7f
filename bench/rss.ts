import { readFile } from 'node:fs/promises';

/** Resident set size of a process in bytes, read from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak (`peak()`: so far). */
export function sampleRss(pid: number, everyMs = 20): { peak(): number; stop(): Promise<number> } {
  const sampler = sampleProcess(pid, everyMs);
  return { peak: () => sampler.peak().peakRss, stop: async () => (await sampler.stop()).peakRss };
}

/** CPU time (user + system) a process has used, from /proc, in milliseconds. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * Samples a process until stopped: its peak RSS, and its CPU time as last seen (a process that
 * exits is read up to `everyMs` before its end).
 */
export function sampleProcess(
  pid: number,
  everyMs = 20,
): {
  peak(): { peakRss: number; cpuMs: number };
  stop(): Promise<{ peakRss: number; cpuMs: number }>;
} {
  let peakRss = 0;
  let cpu = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, await rssOf(pid).catch(() => 0));
      cpu = await cpuMs(pid).catch(() => cpu);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    peak: () => ({ peakRss, cpuMs: cpu }),
    async stop() {
      running = false;
      await loop;
      return { peakRss, cpuMs: cpu };
    },
  };
}

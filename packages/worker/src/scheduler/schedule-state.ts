import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface JobRunRecord {
  readonly lastStartedAt?: number;
  readonly lastFinishedAt?: number;
  readonly lastSuccess?: boolean;
  readonly lastMessage?: string;
}

/**
 * Last-run times per job, persisted in a small JSON file so a restart does not run every job
 * again at once. Written to a temp file and renamed: a crash leaves the old or the new state.
 */
export class ScheduleState {
  private readonly path: string;
  private jobs: Record<string, JobRunRecord> = {};
  /** Writes happen one after another: jobs finishing together must not race on the temp file. */
  private writes: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as {
        jobs?: Record<string, JobRunRecord>;
      };
      this.jobs = parsed.jobs ?? {};
    } catch {
      // Missing or damaged: every job counts as never run, which is safe (uploads are idempotent).
      this.jobs = {};
    }
  }

  get(jobId: string): JobRunRecord {
    return this.jobs[jobId] ?? {};
  }

  update(jobId: string, change: JobRunRecord): Promise<void> {
    this.jobs[jobId] = { ...this.jobs[jobId], ...change };
    const write = this.writes.then(async () => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ jobs: this.jobs }, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    // The chain continues after a failed write; the caller still sees its own failure.
    this.writes = write.catch(() => undefined);
    return write;
  }
}

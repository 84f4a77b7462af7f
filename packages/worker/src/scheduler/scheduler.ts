import type { Logger } from 'pino';
import { coerceError } from '@nexus/core';
import type { Job, JobContext, JobResult } from '../jobs/job.ts';
import { isDue } from './is-due.ts';
import type { ScheduleState } from './schedule-state.ts';
import type { Clock } from '../clock.ts';

export interface ScheduledJob {
  readonly job: Job;
  readonly intervalMinutes: number;
}

export interface SchedulerOptions {
  readonly jobs: readonly ScheduledJob[];
  readonly state: ScheduleState;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tickMs?: number;
  readonly interactive?: boolean;
  /** Called after each run, for tests and metrics. */
  readonly onRunFinished?: (jobId: string, result: JobResult) => void;
}

/**
 * Every tick (60 s), starts each job that is due and not already running. Jobs run side by side
 * but never overlap themselves; a job that throws is logged as failed and the others go on.
 * `run()` returns once `signal` aborted and the runs in flight have finished (they get the
 * signal too, and stop at their next item).
 */
export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly running = new Map<string, Promise<void>>();
  private readonly started = new Set<string>();

  constructor(options: SchedulerOptions) {
    this.options = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.options;
    const tickMs = this.options.tickMs ?? 60_000;
    logger.info(
      `scheduler started: ${this.options.jobs.map((j) => `${j.job.id} every ${j.intervalMinutes} min`).join(', ')}`,
    );
    while (!signal.aborted) {
      this.startDueJobs(signal);
      await clock.sleep(tickMs, signal);
    }
    if (this.running.size > 0)
      logger.info(`waiting for ${[...this.running.keys()].join(', ')} to stop`);
    await Promise.all(this.running.values());
  }

  /** One tick's decisions; public so tests can drive ticks one by one. */
  startDueJobs(signal: AbortSignal): void {
    const now = this.options.clock.now();
    for (const { job, intervalMinutes } of this.options.jobs) {
      if (this.running.has(job.id)) continue;
      // A continuous job (it polls until stopped) starts with the worker, whatever its last run.
      const firstStart = job.continuous && !this.started.has(job.id);
      if (!firstStart && !isDue(intervalMinutes, this.options.state.get(job.id), now)) continue;
      this.started.add(job.id);
      const run = this.runOnce(job, signal).finally(() => this.running.delete(job.id));
      this.running.set(job.id, run);
    }
  }

  isRunning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  /** Resolves when no job is running (for tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private async runOnce(job: Job, signal: AbortSignal): Promise<void> {
    const { state, clock, logger } = this.options;
    const log = logger.child({ job: job.id });
    const persist = (change: Parameters<ScheduleState['update']>[1]) =>
      state.update(job.id, change).catch((error: unknown) => {
        // Losing a last-run time only means an early re-run, which uploads nothing twice.
        log.warn({ err: coerceError(error) }, 'could not save the schedule state');
      });
    await persist({ lastStartedAt: clock.now() });
    log.info('run started');
    const context: JobContext = {
      signal,
      logger: log,
      dryRun: false,
      interactive: this.options.interactive ?? false,
    };
    let result: JobResult;
    try {
      result = await job.run(context);
    } catch (caught) {
      const error = coerceError(caught);
      log.error({ err: error }, 'run threw');
      result = {
        success: false,
        message: `threw: ${error.message}`,
        counts: {},
        errors: [{ item: job.id, message: error.message }],
        durationMs: 0,
      };
    }
    await state.update(job.id, {
      lastFinishedAt: clock.now(),
      lastSuccess: result.success,
      lastMessage: result.message,
    });
    (result.success ? log.info.bind(log) : log.warn.bind(log))(
      { counts: result.counts, ms: result.durationMs },
      `run ${result.success ? 'finished' : 'failed'}: ${result.message}`,
    );
    this.options.onRunFinished?.(job.id, result);
  }
}

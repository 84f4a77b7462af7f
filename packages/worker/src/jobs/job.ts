import type { Logger } from 'pino';
import type { z } from 'zod';
import type { WorkerServices } from '../worker-services.ts';

/** What one run of a job did. `counts` are job-specific (files found, uploaded, ...). */
export interface JobResult {
  readonly success: boolean;
  readonly message: string;
  readonly counts: Readonly<Record<string, number>>;
  /** One entry per item that went wrong, with the reason, for the log and the exit report. */
  readonly errors: readonly { readonly item: string; readonly message: string }[];
  readonly durationMs: number;
}

/** A run's result, its duration measured from `startedAt` (a `performance.now()` reading). */
export function finishedRun(startedAt: number, result: Omit<JobResult, 'durationMs'>): JobResult {
  return { ...result, durationMs: Math.round(performance.now() - startedAt) };
}

export interface JobContext {
  /** Aborted on SIGINT/SIGTERM: stop taking new items, leave the one in flight safe. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Show what would happen and why, change nothing. */
  readonly dryRun: boolean;
  /** Draw a progress bar (a terminal is attached). */
  readonly interactive: boolean;
  /**
   * Run once and return (`nexus-worker --job`): a job that otherwise keeps polling, like
   * `webhook_delivery`, handles what is due now and stops.
   */
  readonly once?: boolean;
}

/**
 * A unit of scheduled work. Subclasses implement `run()`; the scheduler decides when, never
 * overlaps a job with itself, and logs the result. Adding a job type is one file extending this
 * plus one line in `registry.ts`.
 */
export abstract class Job {
  readonly id: string;
  /**
   * A continuous job's run keeps working until the worker stops (`webhook_delivery` polls every
   * few seconds). The scheduler starts it with the worker, and again at its interval if it ends.
   */
  readonly continuous: boolean = false;

  constructor(id: string) {
    this.id = id;
  }

  abstract run(context: JobContext): Promise<JobResult>;
}

/** A job made from its config-file entry: its validated `config` and the services jobs share. */
export abstract class ConfiguredJob<Config> extends Job {
  protected readonly config: Config;
  protected readonly services: WorkerServices;

  constructor(id: string, config: Config, services: WorkerServices) {
    super(id);
    this.config = config;
    this.services = services;
  }
}

/**
 * A kind of job, by the `type` name config.json uses for it (`registry.ts` lists them): the
 * schema of its `config` object and how to build one from it.
 */
export interface JobType<Schema extends z.ZodType = z.ZodType> {
  readonly description: string;
  /** Validates the job's `config` object from config.json. */
  readonly configSchema: Schema;
  create(id: string, config: z.infer<Schema>, services: WorkerServices): Job;
}

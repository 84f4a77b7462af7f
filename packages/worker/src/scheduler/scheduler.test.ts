import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Job, type JobContext, type JobResult } from '../jobs/job.ts';
import { ScheduleState } from './schedule-state.ts';
import type { Clock } from '../clock.ts';
import { Scheduler } from './scheduler.ts';

/** The reference time every test starts at. */
const T0 = Date.parse('2026-11-25T12:00:00Z');
const MIN = 60_000;

class FakeClock implements Clock {
  nowMs = T0;
  now(): number {
    return this.nowMs;
  }
  /** Yields to the event loop (a macrotask), as a real timer would, without waiting. */
  sleep(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Waits until `condition` holds, checking between turns of the event loop. The bound is a
 * deadline, not a number of turns: the jobs' state writes go to disk, which a loaded machine
 * makes slower than any fixed number of turns. The fake clock is not involved: it only decides
 * what is due.
 */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const ok = (message: string): JobResult => ({
  success: true,
  message,
  counts: {},
  errors: [],
  durationMs: 0,
});

class RecordingJob extends Job {
  readonly starts: number[] = [];
  release: (() => void) | undefined;
  private readonly clock: FakeClock;
  private readonly behaviour: 'quick' | 'hold' | 'throw';
  constructor(id: string, clock: FakeClock, behaviour: 'quick' | 'hold' | 'throw' = 'quick') {
    super(id);
    this.clock = clock;
    this.behaviour = behaviour;
  }
  async run(context: JobContext): Promise<JobResult> {
    this.starts.push(this.clock.now());
    if (this.behaviour === 'throw') throw new Error('disk on fire');
    if (this.behaviour === 'hold') {
      await new Promise<void>((resolve) => {
        this.release = resolve;
        context.signal.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
      });
    }
    return ok('done');
  }
}

async function setup(
  clock: FakeClock,
  jobs: { job: Job; intervalMinutes: number }[],
  stateFile?: string,
) {
  const state = new ScheduleState(
    stateFile ?? join(await mkdtemp(join(tmpdir(), 'nexus-sched-')), 'schedule.json'),
  );
  await state.load();
  const finished: [string, JobResult][] = [];
  const scheduler = new Scheduler({
    jobs,
    state,
    clock,
    logger: pino({ level: 'silent' }),
    onRunFinished: (id, r) => finished.push([id, r]),
  });
  return { clock, state, scheduler, finished };
}

describe('Scheduler', () => {
  it('runs a new job at once, then again only when its interval has passed', async () => {
    const clock = new FakeClock();
    const job = new RecordingJob('upload', clock);
    const { scheduler } = await setup(clock, [{ job, intervalMinutes: 15 }]);
    const signal = new AbortController().signal;
    for (const minute of [0, 1, 14, 15, 16, 29, 30]) {
      clock.nowMs = T0 + minute * MIN;
      scheduler.startDueJobs(signal);
      await scheduler.idle();
    }
    expect(job.starts.map((t) => (t - T0) / MIN)).toEqual([0, 15, 30]);
  });

  it('never overlaps a job with itself while other jobs keep their schedule', async () => {
    const clock = new FakeClock();
    const slow = new RecordingJob('slow', clock, 'hold');
    const quick = new RecordingJob('quick', clock);
    const { scheduler } = await setup(clock, [
      { job: slow, intervalMinutes: 1 },
      { job: quick, intervalMinutes: 1 },
    ]);
    const signal = new AbortController().signal;
    for (let minute = 0; minute < 5; minute += 1) {
      clock.nowMs = T0 + minute * MIN;
      scheduler.startDueJobs(signal);
      await until(
        () => quick.starts.length === minute + 1 && !scheduler.isRunning('quick'),
        `quick run ${minute + 1}`,
      );
      expect(scheduler.isRunning('slow')).toBe(true);
    }
    expect(slow.starts).toHaveLength(1);
    expect(quick.starts).toHaveLength(5);
    slow.release?.();
    await scheduler.idle();
  });

  it('logs a job that throws as failed and goes on with the others', async () => {
    const clock = new FakeClock();
    const broken = new RecordingJob('broken', clock, 'throw');
    const fine = new RecordingJob('fine', clock);
    const { scheduler, finished, state } = await setup(clock, [
      { job: broken, intervalMinutes: 5 },
      { job: fine, intervalMinutes: 5 },
    ]);
    scheduler.startDueJobs(new AbortController().signal);
    await scheduler.idle();
    expect(finished.map(([id, r]) => [id, r.success])).toEqual(
      expect.arrayContaining([
        ['broken', false],
        ['fine', true],
      ]),
    );
    expect(state.get('broken')).toMatchObject({
      lastSuccess: false,
      lastMessage: 'threw: disk on fire',
    });
  });

  it('remembers last runs across a restart, so nothing re-runs early', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'nexus-sched-')), 'schedule.json');
    const firstClock = new FakeClock();
    const first = await setup(
      firstClock,
      [{ job: new RecordingJob('upload', firstClock), intervalMinutes: 15 }],
      file,
    );
    first.scheduler.startDueJobs(new AbortController().signal);
    await first.scheduler.idle();

    const clock = new FakeClock();
    clock.nowMs = T0 + 10 * MIN;
    const job = new RecordingJob('upload', clock);
    const second = await setup(clock, [{ job, intervalMinutes: 15 }], file);
    second.scheduler.startDueJobs(new AbortController().signal);
    await second.scheduler.idle();
    expect(job.starts).toHaveLength(0);
    clock.nowMs = T0 + 15 * MIN;
    second.scheduler.startDueJobs(new AbortController().signal);
    await second.scheduler.idle();
    expect(job.starts).toHaveLength(1);
  });

  it('starts a continuous job with the worker, whatever its last run, and once only', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'nexus-sched-')), 'schedule.json');
    const firstClock = new FakeClock();
    const first = await setup(
      firstClock,
      [{ job: new RecordingJob('deliver', firstClock), intervalMinutes: 60 }],
      file,
    );
    first.scheduler.startDueJobs(new AbortController().signal);
    await first.scheduler.idle();

    const clock = new FakeClock();
    clock.nowMs = T0 + MIN; // a restart a minute later: an ordinary job would wait 59 minutes
    const job = new (class extends RecordingJob {
      override readonly continuous = true;
    })('deliver', clock, 'hold');
    const second = await setup(clock, [{ job, intervalMinutes: 60 }], file);
    const signal = new AbortController().signal;
    second.scheduler.startDueJobs(signal);
    await until(() => job.starts.length === 1, 'the continuous start');
    clock.nowMs = T0 + 2 * MIN;
    second.scheduler.startDueJobs(signal);
    job.release?.();
    await second.scheduler.idle();
    clock.nowMs = T0 + 3 * MIN; // it ended: now its interval applies again
    second.scheduler.startDueJobs(signal);
    await second.scheduler.idle();
    expect(job.starts).toEqual([T0 + MIN]);
  });

  it('restarts at once a job whose last run never finished (the worker was killed during it)', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'nexus-sched-')), 'schedule.json');
    const state = new ScheduleState(file);
    await state.load();
    await state.update('upload', { lastStartedAt: T0 });
    const clock = new FakeClock();
    clock.nowMs = T0 + MIN;
    const job = new RecordingJob('upload', clock);
    const { scheduler } = await setup(clock, [{ job, intervalMinutes: 15 }], file);
    scheduler.startDueJobs(new AbortController().signal);
    await scheduler.idle();
    expect(job.starts).toEqual([T0 + MIN]);
  });

  it('stops on abort after the run in flight has finished', async () => {
    const clock = new FakeClock();
    const job = new RecordingJob('slow', clock, 'hold');
    const { scheduler, finished } = await setup(clock, [{ job, intervalMinutes: 1 }]);
    const controller = new AbortController();
    const running = scheduler.run(controller.signal);
    await until(() => job.starts.length === 1, 'the first run');
    controller.abort();
    await running;
    expect(finished).toHaveLength(1);
  });
});

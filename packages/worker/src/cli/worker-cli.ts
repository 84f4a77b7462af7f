import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST_ID, UsageError, coerceError, describeCliFailure } from '@nexus/core';
import {
  defaultConfigPath,
  loadWorkerConfig,
  type JobDefinition,
} from '../config/worker-config.ts';
import type { JobResult } from '../jobs/job.ts';
import { runReportOf } from '../jobs/run-report.ts';
import type { WorkerServices } from '../worker-services.ts';
import { buildJob, buildServices } from '../build-worker.ts';
import { JOB_TYPES } from '../jobs/registry.ts';
import { formatBytes } from '../format-bytes.ts';
import { createLogger } from '../logger.ts';
import { ScheduleState } from '../scheduler/schedule-state.ts';
import { systemClock } from '../clock.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { ENROL_HELP, enrolCommand } from './enrol-command.ts';
import { INIT_HELP, initCommand } from './init-command.ts';
import { RESTORE_HELP, restoreCommand } from './restore-command.ts';
import { restoreStateCommand, stateKeyCommand } from './state-commands.ts';
import manifest from '../../package.json' with { type: 'json' };

const HELP = `Usage: nexus-worker [options]
       nexus-worker init [options]
       nexus-worker enrol --url <api> --code <code>
       nexus-worker restore --out <dir> [options]
       nexus-worker state-key --passphrase-env <VAR>
       nexus-worker restore-state --out <dir> [options]

Runs beside OpenClaw: a scheduler that wakes every 60 s and runs each enabled job of the config
whose intervalMinutes have passed. Stop it with Ctrl-C (SIGINT) or SIGTERM.

Options:
  --job <id>        run that job once now and exit (exit code 0 when it succeeded, 1 when not)
  --dry-run         with --job: show what would be uploaded and why each other file is skipped
  --config <path>   config file (default $NEXUS_WORKER_CONFIG or ~/.nexus/worker.json)
  --verbose         debug logs (every file considered, every skip reason)
  -h, --help        show this help
  -v, --version     print the version

Commands:
  init              write a starter config for this machine (nexus-worker init --help)
  enrol             make this machine a host of a Nexus API with a one-time code (--help)
  restore           bring stored transcripts back as files into a folder (--help)
  state-key         make this host's key for encrypted OpenClaw state backups (--help)
  restore-state     download, decrypt and verify an OpenClaw state backup (--help)

Docs: docs/WORKER.md
`;

/** Parses argv, runs, and maps the outcome to an exit code in one place. */
async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === 'init') return init(argv.slice(1), env);
  if (argv[0] === 'enrol' || argv[0] === 'enroll') return enrol(argv.slice(1), env);
  if (argv[0] === 'restore') return restore(argv.slice(1), env);
  if (argv[0] === 'state-key') return print(`${await stateKeyCommand(argv.slice(1), env)}\n`);
  if (argv[0] === 'restore-state')
    return print(`${await restoreStateCommand(argv.slice(1), env)}\n`);
  const { values } = parseArgs({
    args: [...argv],
    options: {
      job: { type: 'string' },
      'dry-run': { type: 'boolean' },
      config: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    strict: true,
  });
  if (values.help) return print(HELP);
  if (values.version) return print(`${manifest.version}\n`);
  if (values['dry-run'] && values.job === undefined)
    throw new UsageError('--dry-run goes with --job <id>.');

  const config = loadWorkerConfig(values.config ?? defaultConfigPath(env), env, JOB_TYPES);
  const logger = createLogger({ verbose: values.verbose ?? false });
  const services = buildServices(config, logger, env);
  if (!config.host.named)
    logger.warn(
      `${config.path} names no host, so this worker speaks for host "${DEFAULT_HOST_ID}" (where an upgraded API keeps data from before hosts). Give this machine its own id: add "host": {"id": "<id>"} to the config, or enrol it (docs/WORKER.md).`,
    );
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    logger.info(`${signal} received: finishing the file in flight, then stopping (again to force)`);
    controller.abort();
    setTimeout(() => {
      logger.error('stopping took too long; exiting');
      process.exit(1);
    }, 30_000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  if (values.job !== undefined) {
    const definition = config.jobs.find((job) => job.id === values.job);
    if (!definition) {
      throw new UsageError(
        `No job "${values.job}" in ${config.path}; its jobs: ${config.jobs.map((j) => j.id).join(', ')}.`,
      );
    }
    const result = await buildJob(definition, services).run({
      signal: controller.signal,
      logger: logger.child({ job: definition.id }),
      dryRun: values['dry-run'] ?? false,
      interactive: process.stderr.isTTY,
      once: true,
    });
    for (const error of result.errors) logger.warn({ item: error.item }, error.message);
    (result.success ? logger.info.bind(logger) : logger.error.bind(logger))(
      { counts: result.counts, ms: result.durationMs },
      result.message,
    );
    if (!values['dry-run']) await reportRun(services, definition, result);
    await flush(logger);
    return result.success ? 0 : 1;
  }

  const enabled = config.jobs.filter((job) => job.enabled);
  if (enabled.length === 0)
    throw new UsageError(`Every job in ${config.path} is disabled; enable one ("enabled": true).`);
  const health = await services.client.health();
  if (!health.ok)
    logger.warn(
      `The Nexus API at ${config.nexus.url} does not answer (${health.detail}); jobs will retry on each run.`,
    );
  else
    await services.client.announceHost(config.host.name, manifest.version).then(
      () => {
        logger.info(`announced host ${config.host.id} to ${config.nexus.url}`);
      },
      (caught: unknown) => {
        logger.warn(
          `could not announce host ${config.host.id} to the API: ${coerceError(caught).message}`,
        );
      },
    );
  const state = new ScheduleState(join(config.stateDir, 'schedule.json'));
  await state.load();
  const scheduler = new Scheduler({
    jobs: enabled.map((definition) => ({
      job: buildJob(definition, services),
      intervalMinutes: definition.intervalMinutes,
    })),
    state,
    clock: systemClock,
    logger,
    interactive: process.stderr.isTTY,
    onRunFinished: (jobId, result) => {
      const definition = enabled.find((job) => job.id === jobId);
      if (definition) void reportRun(services, definition, result);
    },
  });
  await scheduler.run(controller.signal);
  logger.info('worker stopped');
  await flush(logger);
  return 0;
}

async function init(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      'openclaw-dir': { type: 'string' },
      'nexus-url': { type: 'string' },
      host: { type: 'string' },
      name: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return print(INIT_HELP);
  const lines = await initCommand({
    configPath: values.config ?? defaultConfigPath(env),
    force: values.force ?? false,
    env,
    ...(values.host === undefined ? {} : { hostId: values.host }),
    ...(values.name === undefined ? {} : { hostName: values.name }),
    ...(values['openclaw-dir'] === undefined ? {} : { openclawDir: values['openclaw-dir'] }),
    ...(values['nexus-url'] === undefined ? {} : { nexusUrl: values['nexus-url'] }),
  });
  return print(`${lines.join('\n')}\n`);
}

async function enrol(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      code: { type: 'string' },
      'admin-key-env': { type: 'string' },
      host: { type: 'string' },
      name: { type: 'string' },
      config: { type: 'string' },
      'openclaw-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return print(ENROL_HELP);
  const url = values.url ?? env['NEXUS_URL'];
  if (url === undefined)
    throw new UsageError('--url is missing: nexus-worker enrol --url <api> --code <code>.');
  const keyVariable = values['admin-key-env'];
  const adminKey = keyVariable === undefined ? undefined : env[keyVariable];
  if (keyVariable !== undefined && (adminKey === undefined || adminKey === ''))
    throw new UsageError(`--admin-key-env ${keyVariable}: that variable is not set.`);
  const lines = await enrolCommand({
    url,
    configPath: values.config ?? defaultConfigPath(env),
    env,
    workerVersion: manifest.version,
    ...(values.code === undefined ? {} : { code: values.code }),
    ...(adminKey === undefined ? {} : { adminKey }),
    ...(values.host === undefined ? {} : { hostId: values.host }),
    ...(values.name === undefined ? {} : { hostName: values.name }),
    ...(values['openclaw-dir'] === undefined ? {} : { openclawDir: values['openclaw-dir'] }),
  });
  return print(`${lines.join('\n')}\n`);
}

async function restore(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      out: { type: 'string' },
      agent: { type: 'string' },
      session: { type: 'string' },
      generation: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      host: { type: 'string' },
      'for-openclaw': { type: 'boolean' },
      config: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return print(RESTORE_HELP);
  if (values.out === undefined)
    throw new UsageError('--out is missing: nexus-worker restore --out <dir> (see --help).');
  const config = loadWorkerConfig(values.config ?? defaultConfigPath(env), env, JOB_TYPES);
  const logger = createLogger({ verbose: values.verbose ?? false });
  const summary = await restoreCommand({
    url: config.nexus.url,
    apiKey: config.nexus.apiKey,
    hostId: values.host ?? config.host.id,
    out: values.out,
    logger,
    ...(values.agent === undefined ? {} : { agentId: values.agent }),
    ...(values.session === undefined ? {} : { sessionId: values.session }),
    ...(values.generation === undefined ? {} : { generation: values.generation }),
    ...(values.from === undefined ? {} : { from: values.from }),
    ...(values.to === undefined ? {} : { to: values.to }),
    forOpenClaw: values['for-openclaw'] ?? false,
  });
  (summary.failed > 0 ? logger.error.bind(logger) : logger.info.bind(logger))(
    { ...summary },
    `restored ${String(summary.restored)} transcripts (${formatBytes(summary.bytes)}) into ${values.out}; ${String(summary.alreadyThere)} already there, ${String(summary.conflicts)} left alone (a different file in the way), ${String(summary.failed)} failed`,
  );
  await flush(logger);
  return summary.failed > 0 ? 1 : 0;
}

/**
 * Tells the API how a run went, so the host's status shows a failing or stopped backup. Never
 * fails the run: a report that cannot be sent is a warning (the API's view goes stale, and turns
 * the host `silent` if that lasts).
 */
async function reportRun(
  services: WorkerServices,
  job: JobDefinition,
  result: JobResult,
): Promise<void> {
  try {
    await services.client.reportRun(
      runReportOf(job, result, new Date(services.clock.now())),
      AbortSignal.timeout(15_000),
    );
  } catch (caught) {
    services.logger.warn(
      { job: job.id },
      `could not report the run to the API: ${coerceError(caught).message}`,
    );
  }
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

function flush(logger: { flush(cb?: (err?: Error) => void): void }): Promise<void> {
  return new Promise((resolve) => {
    logger.flush(() => {
      resolve();
    });
  });
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (caught: unknown) => {
    const failure = describeCliFailure(caught, {
      port: 'the port in nexus.url or the gateway URL',
      host: 'the host in nexus.url or the gateway URL',
      folder: 'stateDir in the worker config, or --config',
    });
    process.stderr.write(`nexus-worker: ${failure.message}
`);
    process.exitCode = failure.exitCode;
  },
);

import type { Logger } from 'pino';
import { systemClock } from './clock.ts';
import { NexusClient } from './api-client/nexus-client.ts';
import { JOB_TYPES } from './jobs/registry.ts';
import type { Job } from './jobs/job.ts';
import type { JobDefinition, WorkerConfig } from './config/worker-config.ts';
import type { WorkerServices } from './worker-services.ts';

/** Wires services and jobs from a validated config: the only place that knows them all. */
export function buildServices(
  config: WorkerConfig,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>>,
): WorkerServices {
  const client = new NexusClient({
    url: config.nexus.url,
    apiKey: config.nexus.apiKey,
    hostId: config.host.id,
    onRetry: ({ attempt, delayMs, reason }) => {
      logger.warn(
        `request failed (${reason}); retry ${attempt} in ${Math.round(delayMs / 100) / 10} s`,
      );
    },
  });
  return { config, client, logger, env, clock: systemClock };
}

export function buildJob(definition: JobDefinition, services: WorkerServices): Job {
  const type = JOB_TYPES[definition.type];
  if (!type) throw new Error(`unknown job type ${definition.type}`);
  return type.create(definition.id, definition.config, services);
}

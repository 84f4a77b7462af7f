import type { Logger } from 'pino';
import type { NexusApi } from './api-client/nexus-client.ts';
import type { WorkerConfig } from './config/worker-config.ts';
import type { Clock } from './clock.ts';

/** What jobs share: the validated configuration, the API client, the worker's state folder. */
export interface WorkerServices {
  readonly config: WorkerConfig;
  readonly client: NexusApi;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
}

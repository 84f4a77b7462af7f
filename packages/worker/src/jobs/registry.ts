import type { z } from 'zod';
import type { Job } from './job.ts';
import type { WorkerServices } from '../worker-services.ts';
import { sessionUploadJobType } from './session-upload/session-upload-job.ts';
import { webhookDeliveryJobType } from './webhook-delivery/webhook-delivery-job.ts';

export interface JobType<Schema extends z.ZodType = z.ZodType> {
  readonly description: string;
  /** Validates the job's `config` object from config.json. */
  readonly configSchema: Schema;
  create(id: string, config: z.infer<Schema>, services: WorkerServices): Job;
}

/** Every job type, by the `type` name used in config.json. */
export const JOB_TYPES: Readonly<Record<string, JobType>> = {
  session_upload: sessionUploadJobType,
  webhook_delivery: webhookDeliveryJobType,
};

import type { JobType } from './job.ts';
import { sessionUploadJobType } from './session-upload/session-upload-job.ts';
import { stateBackupJobType } from './state-backup/state-backup-job.ts';
import { webhookDeliveryJobType } from './webhook-delivery/webhook-delivery-job.ts';

/** Every job type, by the `type` name used in config.json. A new type is one line here. */
export const JOB_TYPES: Readonly<Record<string, JobType>> = {
  session_upload: sessionUploadJobType,
  webhook_delivery: webhookDeliveryJobType,
  state_backup: stateBackupJobType,
};

export * from './jobs/job.ts';
export * from './jobs/registry.ts';
export * from './config/worker-config.ts';
export * from './scheduler/scheduler.ts';
export * from './scheduler/is-due.ts';
export * from './openclaw/completion.ts';
export * from './openclaw/transcript-file-name.ts';
export * from './build-worker.ts';
export * from './clock.ts';
export {
  NexusClient,
  UPLOAD_RETRY,
  type TranscriptUploadRequest,
} from './api-client/nexus-client.ts';
export {
  prepareUpload,
  type PreparedUpload,
  type UploadBase,
} from './jobs/session-upload/transcript-body.ts';

export * from './jobs/job.ts';
export * from './jobs/registry.ts';
export * from './config/worker-config.ts';
export * from './scheduler/scheduler.ts';
export * from './scheduler/is-due.ts';
export * from './openclaw/completion.ts';
export * from './openclaw/transcript-file-name.ts';
export * from './build-worker.ts';

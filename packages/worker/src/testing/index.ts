/** The worker's test kit (`@nexus/worker/testing`): OpenClaw stand-ins and the worker as a process. */
export * from './gateway-stand-in.ts';
export * from './openclaw-database.ts';
export * from './openclaw-fixture.ts';
export * from './worker-harness.ts';
export * from './openclaw-gateway.ts';

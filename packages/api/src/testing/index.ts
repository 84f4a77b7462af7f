/** The API's test kit, imported by name (`@nexus/api/testing`) by tests, benchmarks and scripts. */
export * from './api-harness.ts';
export * from './azurite.ts';
export * from './spawn-server.ts';
export * from './storage-conformance.ts';
export * from './dashboard-seed.ts';
export * from './browser.ts';
export * from './session-rows.ts';
export * from './github-delivery.ts';

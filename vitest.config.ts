import { defineConfig } from 'vitest/config';

const TMPDIR_SETUP = 'packages/api/test/run-tmpdir.ts';

/**
 * Projects run by `npm test`: `unit` (pure functions and in-process servers, no Azurite:
 * `npm run test:unit`, seconds), `integration` (the API on both storage backends, Azurite started
 * once, real sockets, crash recovery), `e2e` (the worker and the API as processes); and
 * `openclaw`, whose tests run only from `npm run test:openclaw` (a real OpenClaw from npm).
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add contention for the integration tests' servers.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
          globalSetup: [TMPDIR_SETUP],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'packages/*/src/**/*.integration.test.ts',
            'packages/*/test/**/*.integration.test.ts',
          ],
          globalSetup: [TMPDIR_SETUP, 'packages/api/test/azurite-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['packages/*/test/**/*.e2e.test.ts'],
          globalSetup: [TMPDIR_SETUP],
        },
      },
      {
        // Opt-in (`npm run test:openclaw`): against a real OpenClaw installed from npm; skipped
        // unless NEXUS_TEST_OPENCLAW names its CLI.
        extends: true,
        test: {
          name: 'openclaw',
          include: ['packages/*/test/**/*.openclaw.test.ts'],
          globalSetup: [TMPDIR_SETUP],
          testTimeout: 180_000,
        },
      },
    ],
  },
});

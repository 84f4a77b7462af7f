import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temp folder of a test run (the tests', and those of the servers, workers and Azurite they
 * start) goes under one folder, set as TMPDIR before any test process starts and removed at the
 * end. Each Vitest project lists this setup; the first to run makes the folder, the others reuse it.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env['NEXUS_TEST_RUN_DIR'] !== undefined) return undefined;
  const runDir = await mkdtemp(join(tmpdir(), 'nexus-test-run-'));
  process.env['NEXUS_TEST_RUN_DIR'] = runDir;
  process.env['TMPDIR'] = runDir;
  return async () => {
    await rm(runDir, { recursive: true, force: true });
  };
}

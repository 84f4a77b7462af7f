import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from './azurite.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}

/**
 * One Azurite for the whole run; each test file uses its own container and table prefix. Every
 * temp folder the tests make (theirs, the servers' and workers' they spawn, Azurite's) goes under
 * one folder of this run, set as TMPDIR before any test process starts, and removed at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(join(tmpdir(), 'nexus-test-run-'));
  process.env['TMPDIR'] = runDir;
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return async () => {
    await azurite.stop();
    await rm(runDir, { recursive: true, force: true });
  };
}

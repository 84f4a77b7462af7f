import type { TestProject } from 'vitest/node';
import { startAzurite } from '../src/testing/azurite.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}

/** One Azurite for the integration tests; each test file uses its own container and table prefix. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return async () => {
    await azurite.stop();
  };
}

import { UnavailableError, coerceError } from '@nexus/core';
import { azureCode, isMissingStorage } from './azure-errors.ts';

/**
 * Creates the container or table again when it disappeared under a running API: one attempt at
 * a time, shared by the requests that met it. When that fails (Azure refuses to recreate a
 * container for a while after deleting it), a 503 with `Retry-After`, so clients come back.
 */
export class StorageRecreator {
  private readonly what: string;
  private readonly create: () => Promise<void>;
  private pending: Promise<void> | undefined;

  constructor(what: string, create: () => Promise<void>) {
    this.what = what;
    this.create = create;
  }

  async recreate(cause: unknown): Promise<void> {
    this.pending ??= this.create().finally(() => {
      this.pending = undefined;
    });
    try {
      await this.pending;
    } catch (error) {
      throw new UnavailableError(
        `${this.what} is missing (${azureCode(cause) ?? 'not found'}) and could not be created again: ${coerceError(error).message}; retry later.`,
        { cause: error, retryAfterSeconds: 30 },
      );
    }
  }

  /** Runs `operation`; if the container or table is missing, recreates it and runs it once more. */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (!isMissingStorage(error)) throw error;
      await this.recreate(error);
      return operation();
    }
  }
}

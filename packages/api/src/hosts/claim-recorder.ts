import type { Storage } from '@nexus/core';
import type { Logger } from 'pino';
import { recordClaim } from './host-rows.ts';

/** A worker claims every few seconds; its host's "last claim" is kept to the minute. */
const RECORD_EVERY_MS = 60_000;

/**
 * Keeps each host's last claim time without a write per claim: at most one write a minute per
 * host and process. A failed write is logged and tried again at the next claim; it never fails
 * the claim itself.
 */
export class ClaimRecorder {
  private readonly written = new Map<string, number>();
  private readonly storage: Storage;
  private readonly logger: Logger;

  constructor(storage: Storage, logger: Logger) {
    this.storage = storage;
    this.logger = logger;
  }

  async claimed(hostId: string, at: Date): Promise<void> {
    const last = this.written.get(hostId);
    if (last !== undefined && at.getTime() - last < RECORD_EVERY_MS) return;
    this.written.set(hostId, at.getTime());
    try {
      await recordClaim(this.storage, hostId, at);
    } catch (error) {
      this.written.delete(hostId);
      this.logger.warn({ hostId, err: error }, 'could not record the host’s last claim');
    }
  }
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { coerceError, validateId } from '@nexus/core';
import { discoverAgents } from '../../openclaw/state-dir.ts';
import { Job, type JobContext, type JobResult } from '../job.ts';
import type { JobType } from '../registry.ts';
import type { WorkerServices } from '../../worker-services.ts';
import { archiveFile } from './archive-file.ts';
import { Progress } from './progress.ts';
import { scanSessionsFolder, type ScannedFile } from './scan-sessions-folder.ts';
import { hashTranscript, openUploadBody } from './transcript-body.ts';
import { UploadLedger } from './upload-ledger.ts';

export const sessionUploadConfigSchema = z
  .object({
    /**
     * `keep` leaves files where OpenClaw reads them (its history fallback and usage dashboard read
     * `.reset` archives) and remembers uploads in a ledger; `move` is the seed's behaviour.
     */
    mode: z.enum(['keep', 'move'], { message: 'must be "keep" or "move"' }).default('keep'),
    archiveDir: z.string().min(1).optional(),
    quietMinutes: z
      .number()
      .min(0)
      .max(24 * 60)
      .default(15),
    concurrency: z.number().int().min(1).max(32).default(4),
    snapshots: z.boolean().default(false),
    compression: z
      .enum(['zstd', 'gzip', 'none'], { message: 'must be "zstd", "gzip" or "none"' })
      .default('zstd'),
  })
  .strict();

export type SessionUploadConfig = z.infer<typeof sessionUploadConfigSchema>;

export const sessionUploadJobType: JobType<typeof sessionUploadConfigSchema> = {
  description: 'finds completed OpenClaw session transcripts, uploads them to Nexus, archives them',
  configSchema: sessionUploadConfigSchema,
  create: (id, config, services) => new SessionUploadJob(id, config, services),
};

type Counts = Record<
  | 'found'
  | 'uploaded'
  | 'alreadyPresent'
  | 'unchanged'
  | 'notCompleted'
  | 'rejected'
  | 'failed'
  | 'archived'
  | 'bytes',
  number
>;

/**
 * `session_upload`: per agent, find transcripts that are complete by OpenClaw's rules, upload
 * each (hash first, then a compressed stream), and only once the API confirmed it, record it in
 * the ledger (`keep`) or move it to the archive folder (`move`). Nothing is deleted or moved
 * before a 2xx; a crash at any point is repaired by the next run (re-uploads answer
 * `already_present`).
 */
export class SessionUploadJob extends Job {
  private readonly config: SessionUploadConfig;
  private readonly services: WorkerServices;

  constructor(id: string, config: SessionUploadConfig, services: WorkerServices) {
    super(id);
    this.config = config;
    this.services = services;
  }

  async run(context: JobContext): Promise<JobResult> {
    const started = performance.now();
    const { logger } = context;
    const counts: Counts = {
      found: 0,
      uploaded: 0,
      alreadyPresent: 0,
      unchanged: 0,
      notCompleted: 0,
      rejected: 0,
      failed: 0,
      archived: 0,
      bytes: 0,
    };
    const errors: { item: string; message: string }[] = [];
    const finish = (message: string): JobResult => ({
      success: counts.failed === 0,
      message,
      counts,
      errors,
      durationMs: Math.round(performance.now() - started),
    });

    const { stateDir, agents: onlyAgents } = this.services.config.openclaw;
    if (!existsSync(stateDir)) {
      logger.warn(
        `No OpenClaw state folder at ${stateDir}; nothing to upload. Set openclaw.stateDir in the config or OPENCLAW_STATE_DIR.`,
      );
      return finish(`no OpenClaw state folder at ${stateDir}`);
    }
    const agents = await discoverAgents(stateDir, this.services.env, onlyAgents);
    const ledger = new UploadLedger(join(this.services.config.stateDir, 'ledger.sqlite'));
    try {
      const known = ledger.loadAll();
      const policy = {
        nowMs: this.services.now(),
        quietMs: this.config.quietMinutes * 60_000,
        snapshots: this.config.snapshots,
      };
      const queue: ScannedFile[] = [];
      for (const agent of agents) {
        const scan = await scanSessionsFolder(agent.agentId, agent.sessionsDir, known, policy);
        for (const ignored of scan.ignored)
          logger.debug({ file: ignored.path }, `skipped: ${ignored.reason}`);
        for (const file of scan.files) {
          counts.found += 1;
          const decision = file.decision;
          if (context.dryRun) {
            logger.info(
              { agent: file.agentId, file: file.name, session: file.sessionId },
              `${decision.upload ? 'would upload' : 'would skip'}: ${decision.reason}`,
            );
          }
          if (decision.upload) {
            queue.push(file);
          } else if ('ledger' in decision) {
            counts.unchanged += 1;
            // Uploaded, then interrupted before the move: finish the move now.
            if (
              !context.dryRun &&
              this.config.mode === 'move' &&
              decision.ledger.status === 'uploaded' &&
              decision.ledger.detail === 'complete'
            ) {
              await this.archive(file, counts, errors, ledger, logger);
            }
          } else {
            counts.notCompleted += 1;
            logger.debug(
              { agent: file.agentId, file: file.name },
              `not uploaded: ${decision.reason}`,
            );
          }
        }
      }
      if (context.dryRun)
        return finish(`dry run: ${queue.length} of ${counts.found} transcripts would be uploaded`);

      queue.sort((a, b) => a.mtimeMs - b.mtimeMs);
      const progress = new Progress(queue.length, context.interactive && queue.length >= 20);
      let next = 0;
      const lane = async () => {
        while (next < queue.length && !context.signal.aborted) {
          const file = queue[next++];
          if (file) await this.uploadOne(file, counts, errors, ledger, context);
          progress.advance(file?.size ?? 0);
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(this.config.concurrency, queue.length) }, lane),
      );
      progress.finish();
      const stopped =
        context.signal.aborted && next < queue.length
          ? `; stopped early, ${queue.length - next} left for the next run`
          : '';
      return finish(
        `${counts.found} transcripts: ${counts.uploaded} uploaded, ${counts.alreadyPresent} already stored, ${counts.unchanged} unchanged, ` +
          `${counts.notCompleted} not completed, ${counts.rejected} rejected, ${counts.failed} failed${stopped}`,
      );
    } finally {
      ledger.close();
    }
  }

  private async uploadOne(
    file: ScannedFile,
    counts: Counts,
    errors: { item: string; message: string }[],
    ledger: UploadLedger,
    context: JobContext,
  ): Promise<void> {
    const { logger } = context;
    const where = { agent: file.agentId, file: file.name, session: file.sessionId };
    const snapshot = file.decision.upload && file.decision.snapshot;
    const reject = (message: string, sha256: string) => {
      counts.rejected += 1;
      errors.push({ item: file.path, message });
      ledger.record({
        path: file.path,
        size: file.size,
        mtimeMs: file.mtimeMs,
        sha256,
        status: 'rejected',
        detail: message,
      });
      logger.warn(where, `rejected, left in place: ${message}`);
    };
    try {
      validateId('agent id', file.agentId);
      validateId('session id', file.sessionId);
    } catch (error) {
      reject(coerceError(error).message, '');
      return;
    }
    try {
      const { sha256, bytes } = await hashTranscript(file.path, file.compressed);
      const body = openUploadBody(file.path, file.compressed, this.config.compression);
      const outcome = await this.services.client.uploadTranscript(
        {
          agentId: file.agentId,
          sessionId: file.sessionId,
          sha256,
          kind: file.kind,
          fileName: file.name,
          encoding: body.encoding,
          openBody: body.open,
        },
        context.signal,
      );
      if (outcome.outcome === 'stored') {
        counts[outcome.status === 'created' ? 'uploaded' : 'alreadyPresent'] += 1;
        counts.bytes += bytes;
        ledger.record({
          path: file.path,
          size: file.size,
          mtimeMs: file.mtimeMs,
          sha256,
          status: 'uploaded',
          detail: snapshot ? 'snapshot' : 'complete',
        });
        logger.info(
          { ...where, bytes, sha256: sha256.slice(0, 12) },
          outcome.status === 'created' ? 'uploaded' : 'already stored',
        );
        // A snapshot of a live session stays where OpenClaw is still writing it.
        if (this.config.mode === 'move' && !snapshot)
          await this.archive(file, counts, errors, ledger, logger);
      } else if (outcome.outcome === 'rejected' && outcome.code === 'sha256_mismatch') {
        // The file changed between hashing and sending: a live file still growing. Next run.
        counts.notCompleted += 1;
        logger.info(where, 'changed while being uploaded; will try again next run');
      } else if (outcome.outcome === 'rejected') {
        reject(`${outcome.message} (HTTP ${outcome.httpStatus} ${outcome.code})`, sha256);
      } else {
        counts.failed += 1;
        errors.push({ item: file.path, message: outcome.message });
        logger.warn(where, `not uploaded, will retry next run: ${outcome.message}`);
      }
    } catch (caught) {
      counts.failed += 1;
      const message = coerceError(caught).message;
      errors.push({ item: file.path, message });
      logger.warn(where, `failed, will retry next run: ${message}`);
    }
  }

  private async archive(
    file: ScannedFile,
    counts: Counts,
    errors: { item: string; message: string }[],
    ledger: UploadLedger,
    logger: JobContext['logger'],
  ): Promise<void> {
    const archiveDir = this.config.archiveDir ?? join(this.services.config.stateDir, 'archive');
    try {
      const target = await archiveFile(file.path, archiveDir, file.agentId);
      ledger.forget(file.path);
      counts.archived += 1;
      logger.debug({ file: file.name, to: target }, 'archived');
    } catch (caught) {
      counts.failed += 1;
      const message = `uploaded, but could not move it to ${archiveDir}: ${coerceError(caught).message}`;
      errors.push({ item: file.path, message });
      logger.warn({ file: file.name }, message);
    }
  }
}

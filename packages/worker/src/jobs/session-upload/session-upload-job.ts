import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sessionUploadConfigSchema, type SessionUploadConfig } from './session-upload-config.ts';
import { coerceError, validateId } from '@nexus/core';
import type { AgentDatabase } from '../../openclaw/agent-database.ts';
import { runBounded } from '../../bounded-pool.ts';
import { discoverAgents } from '../../openclaw/state-dir.ts';
import {
  ConfiguredJob,
  finishedRun,
  type JobContext,
  type JobResult,
  type JobType,
} from '../job.ts';
import type { UploadOutcome } from '../../api-client/nexus-client.ts';
import type { WorkerServices } from '../../worker-services.ts';
import { formatBytes } from '../../format-bytes.ts';
import { archiveFile } from './archive-file.ts';
import { Progress } from './progress.ts';
import { collectCandidates } from './collect-candidates.ts';
import { settledPrefixes, surveySources } from './settled-source.ts';
import { uploadOrder, type TranscriptCandidate } from './transcript-candidate.ts';
import {
  prepareUpload,
  resolveCompression,
  type Compression,
  type PreparedUpload,
  type UploadBase,
} from './transcript-body.ts';
import { UploadLedger, type LedgerEntry, type LedgerLookup } from './upload-ledger.ts';
import { uploadConcurrency } from './api-location.ts';

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
  | 'bytes'
  | 'increments'
  | 'sentBytes'
  | 'left'
  | 'skippedDatabases',
  number
>;
type Errors = { item: string; message: string }[];

/** What one run shares across its candidates. */
interface RunState {
  readonly counts: Counts;
  readonly errors: Errors;
  readonly ledger: UploadLedger;
  /** The ledger as it was at the start of the run: what each transcript's last upload was. */
  readonly known: LedgerLookup;
  readonly context: JobContext;
  /**
   * Why this run stopped early: the API refused the key or the URL, or stayed unreachable through
   * every retry. Every other upload would meet the same answer, so none is tried, and none is
   * recorded: the next run tries them all again.
   */
  fault: string | undefined;
}

/**
 * `session_upload`: per agent, find transcripts that are complete by OpenClaw's rules, in the
 * sessions folder and in the agent database, upload each (hash first, then a compressed stream),
 * and only once the API confirmed it, record it in the ledger (`keep`) or move the file to the
 * archive folder (`move`). Nothing is deleted or moved before a 2xx; a crash at any point is
 * repaired by the next run (re-uploads answer `already_present`).
 */
export class SessionUploadJob extends ConfiguredJob<SessionUploadConfig> {
  private readonly compression: Compression;
  private readonly concurrency: number;

  constructor(id: string, config: SessionUploadConfig, services: WorkerServices) {
    super(id, config, services);
    this.compression = resolveCompression(config.compression, services.config.nexus.url);
    this.concurrency = uploadConcurrency(config.concurrency, services.config.nexus.url);
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
      increments: 0,
      sentBytes: 0,
      left: 0,
      skippedDatabases: 0,
    };
    const errors: Errors = [];
    const finish = (message: string): JobResult =>
      finishedRun(started, { success: counts.failed === 0, message, counts, errors });

    const { stateDir, agents: onlyAgents } = this.services.config.openclaw;
    const stateStats = statSync(stateDir, { throwIfNoEntry: false });
    if (stateStats === undefined) {
      logger.warn(
        `No OpenClaw state folder at ${stateDir}; nothing to upload. Set openclaw.stateDir in the config or OPENCLAW_STATE_DIR.`,
      );
      return finish(`no OpenClaw state folder at ${stateDir}`);
    }
    if (!stateStats.isDirectory()) {
      // A mistake in the config, not an empty machine: fail the run so it is seen.
      const message = `the OpenClaw state folder ${stateDir} is not a folder; set openclaw.stateDir in the config (or OPENCLAW_STATE_DIR) to OpenClaw's folder, e.g. ~/.openclaw`;
      counts.failed += 1;
      errors.push({ item: stateDir, message });
      logger.error(message);
      return finish(message);
    }
    const agents = await discoverAgents(stateDir, this.services.env, onlyAgents);
    const ledger = UploadLedger.open(join(this.services.config.stateDir, 'ledger.sqlite'), (m) => {
      logger.warn(m);
    });
    const databases: AgentDatabase[] = [];
    try {
      const policy = {
        nowMs: this.services.clock.now(),
        quietMs: this.config.quietMinutes * 60_000,
        snapshots: this.config.snapshots,
      };
      // Known archives are listed only when something is done with them (moved, or explained by
      // a dry run); then no source is taken as settled either.
      const countKnownArchives = this.config.mode === 'keep' && !context.dryRun;
      const survey = countKnownArchives
        ? surveySources(agents, (prefix) => ledger.settled(prefix), policy.nowMs)
        : undefined;
      const known = ledger.loadAll(survey ? settledPrefixes(survey) : []);
      const state: RunState = { counts, errors, ledger, known, context, fault: undefined };
      const collected = await collectCandidates(agents, {
        sources: this.config.sources,
        allowUnknownSchema: this.config.allowUnknownSchema,
        known,
        policy,
        logger,
        countKnownArchives,
        ...(survey ? { survey } : {}),
      });
      for (const { prefix, ...source } of collected.settle) ledger.settle(prefix, source);
      databases.push(...collected.databases);
      counts.skippedDatabases = collected.skippedDatabases;
      counts.found += collected.unlisted;
      counts.unchanged += collected.unlisted;

      const queue: TranscriptCandidate[] = [];
      for (const candidate of collected.candidates) {
        counts.found += 1;
        const { decision } = candidate;
        const where = {
          agent: candidate.agentId,
          file: candidate.fileName,
          session: candidate.sessionId,
        };
        if (context.dryRun)
          logger.info(
            where,
            `${decision.upload ? 'would upload' : 'would skip'}: ${decision.reason}`,
          );
        if (decision.upload) {
          queue.push(candidate);
        } else if ('ledger' in decision) {
          counts.unchanged += 1;
          // Uploaded, then interrupted before the move: finish the move now.
          const uploaded = decision.ledger.status === 'uploaded';
          if (
            !context.dryRun &&
            uploaded &&
            this.shouldArchive(candidate, decision.ledger.detail === 'snapshot')
          ) {
            await this.archive(candidate, state);
          }
        } else {
          counts.notCompleted += 1;
          logger.debug(where, `not uploaded: ${decision.reason}`);
        }
      }
      if (context.dryRun)
        return finish(`dry run: ${queue.length} of ${counts.found} transcripts would be uploaded`);

      queue.sort(uploadOrder);
      const progress = new Progress(queue.length, context.interactive && queue.length >= 20);
      const tried = await runBounded(
        queue,
        this.concurrency,
        async (candidate) => {
          await this.uploadOne(candidate, state);
          progress.advance(candidate.marker.kind === 'file' ? candidate.marker.size : 0);
        },
        () => !context.signal.aborted && state.fault === undefined,
      );
      progress.finish();
      const left = queue.length - tried;
      counts.left = left;
      if (state.fault !== undefined) {
        logger.error(
          { left },
          `stopped uploading: ${state.fault}; ${left} transcripts not tried, left for the next run`,
        );
        return finish(
          `stopped: ${state.fault}; ${counts.uploaded} uploaded, ${counts.failed} failed, ${left} left for the next run`,
        );
      }
      const stopped =
        context.signal.aborted && left > 0 ? `; stopped early, ${left} left for the next run` : '';
      const incremental =
        counts.increments > 0
          ? ` (${counts.increments} as increments: ${formatBytes(counts.sentBytes)} sent for ${formatBytes(counts.bytes)})`
          : '';
      const skipped =
        counts.skippedDatabases > 0 ? `, ${counts.skippedDatabases} agent databases skipped` : '';
      return finish(
        `${counts.found} transcripts: ${counts.uploaded} uploaded${incremental}, ${counts.alreadyPresent} already stored, ${counts.unchanged} unchanged, ` +
          `${counts.notCompleted} not completed, ${counts.rejected} rejected, ${counts.failed} failed${skipped}${stopped}`,
      );
    } finally {
      for (const database of databases) database.close();
      ledger.close();
    }
  }

  /** Only files leave their folder, only in `move` mode, and never a live session's snapshot. */
  private shouldArchive(candidate: TranscriptCandidate, snapshot: boolean): boolean {
    return this.config.mode === 'move' && candidate.source.type === 'file' && !snapshot;
  }

  private async uploadOne(candidate: TranscriptCandidate, state: RunState): Promise<void> {
    const { counts, errors, ledger, context } = state;
    const { logger } = context;
    const where = {
      agent: candidate.agentId,
      file: candidate.fileName,
      session: candidate.sessionId,
    };
    const snapshot = candidate.decision.upload && candidate.decision.snapshot;
    /** Not uploaded this time; the file stays and the next run tries again. */
    const fail = (message: string) => {
      counts.failed += 1;
      errors.push({ item: candidate.ledgerKey, message });
      logger.warn(where, `not uploaded, will retry next run: ${message}`);
    };
    const reject = (message: string, sha256: string, marker = candidate.marker) => {
      counts.rejected += 1;
      errors.push({ item: candidate.ledgerKey, message });
      ledger.record({
        key: candidate.ledgerKey,
        marker,
        sha256,
        status: 'rejected',
        detail: message,
      });
      logger.warn(where, `rejected, left in place: ${message}`);
    };
    try {
      validateId('agent id', candidate.agentId);
      validateId('session id', candidate.sessionId);
    } catch (error) {
      reject(coerceError(error).message, '');
      return;
    }
    let temp: string | undefined;
    try {
      let path: string;
      let compressed = false;
      let marker = candidate.marker;
      if (candidate.source.type === 'file') {
        ({ path, compressed } = candidate.source);
      } else {
        // A consistent snapshot of the session, written once, hashed and sent from the same bytes.
        const tmpDir = join(this.services.config.stateDir, 'tmp');
        await mkdir(tmpDir, { recursive: true, mode: 0o700 });
        temp = join(tmpDir, `${randomUUID()}.jsonl`);
        const written = await candidate.source.database.writeTranscript(candidate.sessionId, temp);
        marker = { kind: 'database', eventCount: written.eventCount, lastSeq: written.lastSeq };
        path = temp;
      }
      // A live file may end in a line still being written: only whole lines go.
      const wholeLines = snapshot && candidate.source.type === 'file';
      const prepare = (base?: UploadBase) =>
        prepareUpload(
          path,
          compressed,
          this.compression,
          candidate.marker.kind === 'file' ? candidate.marker.size : Infinity,
          { base, wholeLines },
        );
      let body = await prepare(extendableBase(state.known.get(candidate.ledgerKey)));
      if (body.bytes === 0 && wholeLines) {
        counts.notCompleted += 1;
        logger.debug(where, 'not uploaded: no complete line yet');
        return;
      }
      let outcome = await this.send(candidate, body, context.signal);
      if (body.base !== undefined && needsWhole(outcome)) {
        // The API does not have the base (or predates increments): send the whole transcript.
        logger.debug(where, 'the increment was not accepted; sending the whole transcript');
        body = await prepare();
        outcome = await this.send(candidate, body, context.signal);
      }
      const { sha256, bytes } = body;
      if (outcome.outcome === 'stored') {
        counts[outcome.status === 'created' ? 'uploaded' : 'alreadyPresent'] += 1;
        counts.bytes += bytes;
        counts.sentBytes += body.sentBytes;
        if (body.base !== undefined) counts.increments += 1;
        ledger.record({
          key: candidate.ledgerKey,
          marker,
          sha256,
          status: 'uploaded',
          detail: snapshot ? 'snapshot' : 'complete',
          extendableBytes: body.lineEnd ? bytes : 0,
        });
        logger.info(
          {
            ...where,
            bytes,
            sha256: sha256.slice(0, 12),
            ...(body.base === undefined ? {} : { increment: body.sentBytes }),
          },
          outcome.status === 'created' ? 'uploaded' : 'already stored',
        );
        if (this.shouldArchive(candidate, snapshot)) await this.archive(candidate, state);
      } else if (outcome.outcome === 'rejected' && outcome.code === 'sha256_mismatch') {
        // The file changed between hashing and sending: a live file still growing. Next run.
        counts.notCompleted += 1;
        logger.info(where, 'changed while being uploaded; will try again next run');
      } else if (outcome.outcome === 'rejected') {
        reject(`${outcome.message} (HTTP ${outcome.httpStatus} ${outcome.code})`, sha256, marker);
      } else {
        fail(outcome.message);
        // A refusal of the request, or a fault any upload would meet: the run stops.
        const stopsRun = outcome.outcome === 'refused' || outcome.stopsRun;
        if (stopsRun && !context.signal.aborted) state.fault ??= outcome.message;
      }
    } catch (caught) {
      fail(coerceError(caught).message);
    } finally {
      if (temp !== undefined) await rm(temp, { force: true });
    }
  }

  private send(
    candidate: TranscriptCandidate,
    body: PreparedUpload,
    signal: AbortSignal,
  ): Promise<UploadOutcome> {
    return this.services.client.uploadTranscript(
      {
        agentId: candidate.agentId,
        sessionId: candidate.sessionId,
        sha256: body.sha256,
        kind: candidate.kind,
        fileName: candidate.fileName,
        encoding: body.encoding,
        body: body.body,
        ...(body.length === undefined ? {} : { length: body.length }),
        ...(body.base === undefined ? {} : { base: body.base.sha256 }),
        origin: originOf(candidate),
        context: candidate.context,
      },
      signal,
    );
  }

  private async archive(candidate: TranscriptCandidate, state: RunState): Promise<void> {
    const { counts, errors, ledger, context } = state;
    if (candidate.source.type !== 'file') return;
    const archiveDir = this.config.archiveDir ?? join(this.services.config.stateDir, 'archive');
    try {
      const target = await archiveFile(candidate.source.path, archiveDir, candidate.agentId);
      ledger.forget(candidate.ledgerKey);
      counts.archived += 1;
      context.logger.debug({ file: candidate.fileName, to: target }, 'archived');
    } catch (caught) {
      counts.failed += 1;
      const message = `uploaded, but could not move it to ${archiveDir}: ${coerceError(caught).message}`;
      errors.push({ item: candidate.ledgerKey, message });
      context.logger.warn({ file: candidate.fileName }, message);
    }
  }
}

function originOf(candidate: TranscriptCandidate): 'snapshot' | 'completed' | 'archive' {
  if (candidate.kind !== 'live') return 'archive';
  return candidate.decision.upload && candidate.decision.snapshot ? 'snapshot' : 'completed';
}

/** The generation a transcript's last upload stored, when a longer version may extend it. */
function extendableBase(entry: LedgerEntry | undefined): UploadBase | undefined {
  if (entry?.status !== 'uploaded' || !entry.extendableBytes) return undefined;
  return { sha256: entry.sha256, bytes: entry.extendableBytes };
}

/**
 * An increment the API did not take as one: it has no such base (409 `base_*`), or it is older
 * than increments and read the body as a whole transcript (400). Sent whole, the transcript gets
 * the API's real verdict.
 */
function needsWhole(outcome: UploadOutcome): boolean {
  if (outcome.outcome !== 'rejected' && outcome.outcome !== 'refused') return false;
  return (
    outcome.httpStatus === 400 || (outcome.httpStatus === 409 && outcome.code.startsWith('base_'))
  );
}

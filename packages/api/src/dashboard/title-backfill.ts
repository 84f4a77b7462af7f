import type { Logger } from 'pino';
import {
  PreconditionFailedError,
  NotFoundError,
  scopeKey,
  sessionCounts,
  titleOf,
  type AgentScope,
  type Storage,
} from '@nexus/core';
import { loadGenerationRows } from '../transcripts/generation-content.ts';
import { openTranscript } from '../transcripts/session-queries.ts';
import { sessionEntity, sessionFromEntity, type GenerationRow } from '../transcripts/rows.ts';
import type { FilledIn } from './session-catalog.ts';
import { lineBatchesOf } from './transcript-page.ts';

/** Bytes of a transcript looked through for its first user message. */
const TITLE_SCAN_BYTES = 1024 * 1024;
/** Sessions filled in at once. */
const CONCURRENCY = 4;

/**
 * Sessions stored before sessions had a title (first user message), a message count and a tool
 * call count get them here, once: the dashboard's list hands over every session row without a
 * title; each is read again, its latest generation's first user message found (in its first
 * megabyte), its counts taken from its generations' summaries, and the row updated only if it did
 * not change meanwhile (an upload's own record wins). Behind the pages, a few at a time; a row that
 * cannot be filled in now is tried again the next time the list reads it.
 */
export class TitleBackfill {
  private readonly storage: Storage;
  private readonly logger: Logger;
  private readonly onFilled: (scope: AgentScope, sessionId: string, filled: FilledIn) => void;
  private readonly queued = new Set<string>();
  private readonly queue: { scope: AgentScope; sessionId: string }[] = [];
  private running = 0;
  private filled = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(deps: {
    storage: Storage;
    logger: Logger;
    onFilled: (scope: AgentScope, sessionId: string, filled: FilledIn) => void;
  }) {
    this.storage = deps.storage;
    this.logger = deps.logger;
    this.onFilled = deps.onFilled;
  }

  /** Queues sessions to fill in (each once while queued). */
  add(scope: AgentScope, sessionIds: readonly string[]): void {
    for (const sessionId of sessionIds) {
      const key = `${scopeKey(scope)}/${sessionId}`;
      if (this.queued.has(key)) continue;
      this.queued.add(key);
      this.queue.push({ scope, sessionId });
    }
    if (this.queue.length > 0 && this.running === 0)
      this.logger.info(
        { sessions: this.queue.length },
        'filling in titles of sessions stored before 0.5',
      );
    while (this.running < CONCURRENCY && this.queue.length > 0) void this.lane();
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async lane(): Promise<void> {
    this.running += 1;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        const { scope, sessionId } = next;
        try {
          const filled = await this.fill(scope, sessionId);
          if (filled) {
            this.filled += 1;
            this.onFilled(scope, sessionId, filled);
          }
        } catch (error) {
          // A session that changed meanwhile, or was removed, is left to the next reading.
          if (!(error instanceof PreconditionFailedError) && !(error instanceof NotFoundError))
            this.logger.warn(
              { err: error, hostId: scope.hostId, agentId: scope.agentId, sessionId },
              'could not fill in the title of a session; the next reading of the list tries again',
            );
        } finally {
          this.queued.delete(`${scopeKey(scope)}/${sessionId}`);
        }
      }
    } finally {
      this.running -= 1;
      if (this.running === 0 && this.queue.length === 0) {
        if (this.filled > 0)
          this.logger.info({ sessions: this.filled }, 'filled in titles of sessions');
        this.filled = 0;
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const wake of waiters) wake();
      }
    }
  }

  private async fill(scope: AgentScope, sessionId: string): Promise<FilledIn | undefined> {
    const row = await this.storage.tables.get('sessions', scopeKey(scope), sessionId);
    if (!row) return undefined;
    const record = sessionFromEntity(row);
    if (record.title !== undefined) return undefined;
    const rows = await loadGenerationRows(this.storage, scope, sessionId);
    const filled: FilledIn = {
      title: await firstUserText(this.storage, scope, sessionId, record.latestSha256, rows),
      ...sessionCounts([...rows.values()].map((generationRow) => generationRow.generation)),
    };
    const indexKey = String(row.properties['indexKey'] ?? '');
    await this.storage.tables.update(
      'sessions',
      sessionEntity({ ...record, ...filled }, indexKey),
      row.etag,
    );
    return filled;
  }
}

/** The title of a generation: its first user message's text, within its first megabyte. */
async function firstUserText(
  storage: Storage,
  scope: AgentScope,
  sessionId: string,
  sha256: string,
  rows: ReadonlyMap<string, GenerationRow>,
): Promise<string | null> {
  const { body } = await openTranscript(storage, scope, sessionId, sha256, { rows });
  let read = 0;
  for await (const lines of lineBatchesOf(body)) {
    for (const line of lines) {
      read += line.length + 1;
      if (!line.includes('"user"', 0, 'latin1')) continue;
      try {
        const entry = JSON.parse(line.toString('utf8')) as {
          type?: unknown;
          message?: { role?: unknown; content?: unknown };
        };
        // The first user message with text, as the scanner titles a transcript.
        const title =
          entry.type === 'message' && entry.message?.role === 'user'
            ? titleOf(entry.message.content)
            : null;
        if (title !== null) return title;
      } catch {
        // not JSON: not a message
      }
    }
    if (read >= TITLE_SCAN_BYTES) break;
  }
  return null;
}

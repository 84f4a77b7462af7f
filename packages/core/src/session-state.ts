import type { Generation, SessionContext } from './session.ts';

/**
 * What became of a session, from what Nexus stored of it (OPENCLAW.md):
 * - `live`: only snapshots so far; OpenClaw may still add to it.
 * - `ended`: its file left `sessions.json` (eras A and B): OpenClaw will not add to it.
 * - `reset`: a `.reset.<ts>` archive was stored: `/new` or `/reset` closed it (era B).
 * - `superseded`: a rollover gave its session key a new session (`supersededBy`).
 * - `deleted`: a `.deleted.<ts>` archive was stored: the session was deleted in OpenClaw.
 */
export const SESSION_STATES = ['live', 'ended', 'reset', 'superseded', 'deleted'] as const;
export type SessionStateName = (typeof SESSION_STATES)[number];

/** How a generation came to be uploaded. */
export const GENERATION_ORIGINS = ['snapshot', 'completed', 'archive'] as const;
export type GenerationOrigin = (typeof GENERATION_ORIGINS)[number];

export interface SessionState {
  readonly state: SessionStateName;
  /** When it took this state, where known: an archive's time, else when Nexus received it. */
  readonly since?: string;
  readonly supersededBy?: string;
  /** A delete archive's context from OpenClaw's `session_transcript_archives`. */
  readonly sessionKey?: string;
  readonly archiveReason?: string;
  /** The last time any generation of it was received. */
  readonly lastBackedUpAt: string;
}

/** The state of a session from its generations and their combined context. Pure. */
export function sessionStateOf(
  generations: readonly Generation[],
  context: SessionContext,
): SessionState {
  const received = generations.map((g) => g.receivedAt).sort();
  const lastBackedUpAt = received[received.length - 1] ?? '';
  // Each archive, whether stored as its own generation or noted on one with the same content.
  const archives = generations.flatMap((g) => [
    { kind: g.kind, fileName: g.fileName, receivedAt: g.receivedAt },
    ...(g.archivedAs ? [g.archivedAs] : []),
  ]);
  const firstOf = (kind: Generation['kind']) =>
    archives
      .filter((a) => a.kind === kind)
      .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt))[0];
  const deleted = firstOf('deleted');
  if (deleted) {
    return {
      state: 'deleted',
      since: archiveTime(deleted.fileName) ?? deleted.receivedAt,
      ...(context.sessionKey === undefined ? {} : { sessionKey: context.sessionKey }),
      ...(context.archiveReason === undefined ? {} : { archiveReason: context.archiveReason }),
      lastBackedUpAt,
    };
  }
  if (context.supersededBy !== undefined) {
    const completed = generations.find((g) => g.origin === 'completed');
    return {
      state: 'superseded',
      supersededBy: context.supersededBy,
      ...(completed ? { since: completed.receivedAt } : {}),
      lastBackedUpAt,
    };
  }
  const reset = firstOf('reset');
  if (reset)
    return {
      state: 'reset',
      since: archiveTime(reset.fileName) ?? reset.receivedAt,
      lastBackedUpAt,
    };
  const completed = generations.find((g) => g.origin === 'completed');
  if (completed) return { state: 'ended', since: completed.receivedAt, lastBackedUpAt };
  return { state: 'live', lastBackedUpAt };
}

/** `<id>.jsonl.deleted.2026-02-02T20-29-47.344Z[...]` → `2026-02-02T20:29:47.344Z`. */
function archiveTime(fileName: string): string | undefined {
  const match = /\.(?:reset|deleted)\.(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z/.exec(
    fileName,
  );
  if (!match) return undefined;
  const [, day, hours, minutes, seconds, millis] = match;
  const iso = `${day ?? ''}T${hours ?? ''}:${minutes ?? ''}:${seconds ?? ''}.${millis ?? ''}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

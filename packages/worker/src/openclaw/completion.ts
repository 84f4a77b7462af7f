/**
 * Is a transcript file ready to upload? The rules are facts about OpenClaw (OPENCLAW.md, "When
 * is a transcript completed?"), kept pure so they can be tested over a table of cases.
 */
export interface CandidateFile {
  readonly kind: 'live' | 'reset' | 'deleted' | 'bak';
  readonly path: string;
  /** The id in the file name (`stem`) and, when readable, the header's canonical id. */
  readonly stemId: string;
  readonly headerId: string | undefined;
  readonly mtimeMs: number;
  /** A `<file>.lock` is present and held by a live writer. */
  readonly locked: boolean;
}

/** What `sessions.json` says is live: the values' `sessionId`s and absolute `sessionFile`s. */
export interface LiveSessions {
  readonly sessionIds: ReadonlySet<string>;
  readonly sessionFiles: ReadonlySet<string>;
}

export type Decision =
  | { readonly upload: true; readonly reason: string; readonly snapshot: boolean }
  | { readonly upload: false; readonly reason: string };

export interface CompletionPolicy {
  readonly nowMs: number;
  /** A primary transcript must not have changed for this long. */
  readonly quietMs: number;
  /** Upload live sessions too, when quiet and unlocked (OpenClaw's default reset mode is `none`). */
  readonly snapshots: boolean;
}

export function decide(
  file: CandidateFile,
  live: LiveSessions,
  policy: CompletionPolicy,
): Decision {
  if (file.kind === 'reset' || file.kind === 'deleted') {
    return {
      upload: true,
      reason: `${file.kind} archive: written once, complete`,
      snapshot: false,
    };
  }
  if (file.kind === 'bak') {
    return { upload: true, reason: 'history saved before a compaction: complete', snapshot: false };
  }
  if (file.locked) return { upload: false, reason: 'a run is writing it (lock file held)' };
  const quietForMs = policy.nowMs - file.mtimeMs;
  if (quietForMs < policy.quietMs) {
    return {
      upload: false,
      reason: `changed ${Math.round(quietForMs / 1000)} s ago; waiting for ${Math.round(policy.quietMs / 60_000)} min of quiet`,
    };
  }
  const referenced =
    live.sessionFiles.has(file.path) ||
    live.sessionIds.has(file.stemId) ||
    (file.headerId !== undefined && live.sessionIds.has(file.headerId));
  if (!referenced)
    return {
      upload: true,
      reason: 'no longer in sessions.json, unlocked and quiet: complete',
      snapshot: false,
    };
  if (policy.snapshots)
    return { upload: true, reason: 'live session, quiet and unlocked: snapshot', snapshot: true };
  return {
    upload: false,
    reason: 'live session in sessions.json (enable snapshots to back it up while live)',
  };
}

/** What the agent database says of one session (era C). */
export interface DatabaseCandidate {
  /** Another session's `previous_session_id` names it: a rollover ended it for good. */
  readonly superseded: boolean;
  /** `session_windows.status`: NULL before the first run, `running` during one, then `done`, ... */
  readonly status: string | null;
  readonly lastActivityMs: number | undefined;
}

/**
 * Era C (OPENCLAW.md): a session is complete when superseded by a rollover (a deleted one leaves
 * its rows for an archive file, which the file source uploads). `/new` and `/reset` keep the id,
 * and a `done` session can get more turns, so everything else is live: uploaded only as a
 * snapshot, when not `running` and quiet.
 */
export function decideDatabaseSession(
  session: DatabaseCandidate,
  policy: CompletionPolicy,
): Decision {
  if (session.superseded)
    return { upload: true, reason: 'superseded by a rollover: complete', snapshot: false };
  if (!policy.snapshots)
    return {
      upload: false,
      reason: 'live session in the agent database (enable snapshots to back it up while live)',
    };
  if (session.status === 'running') return { upload: false, reason: 'a run is in progress' };
  if (
    session.lastActivityMs !== undefined &&
    policy.nowMs - session.lastActivityMs < policy.quietMs
  ) {
    return {
      upload: false,
      reason: `changed ${Math.round((policy.nowMs - session.lastActivityMs) / 1000)} s ago; waiting for ${Math.round(policy.quietMs / 60_000)} min of quiet`,
    };
  }
  return { upload: true, reason: 'live session, not running and quiet: snapshot', snapshot: true };
}

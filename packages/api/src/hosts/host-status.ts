import type { RunReport } from '@nexus/core';
import { NO_DEAD, type DeadCount } from '../webhooks/dead-index.ts';

/**
 * Whether a host's backups can be relied on, from what Nexus heard of it. Pure.
 * - `silent`: nothing from the host (start, upload, claim, run report) for longer than `silentMs`:
 *   the worker or the machine may be down, or its key refused;
 * - `failing`: a job's last run did not succeed (a refused key, an unreachable API, a full disk,
 *   files that could not be uploaded): the reason is its message;
 * - `behind`: the last runs succeeded, but a backup run stopped before it had uploaded everything
 *   that changed (the worker was stopped mid-run): the rest waits for the next run;
 * - `unknown`: heard from, but no run reported yet (a worker before 0.3, or just started);
 * - `ok`: every job's last run succeeded, and the host was heard from recently.
 *
 * Dead webhooks (items the gateway never took, kept for a replay) do not change the health, which
 * is about backups, but are counted, and named in the reason of a host that is otherwise fine.
 */
export type HostHealth = 'ok' | 'failing' | 'behind' | 'silent' | 'unknown';

export interface HostStatus {
  readonly health: HostHealth;
  readonly reason: string;
  readonly lastSeenAt: string | null;
  /** Webhooks of this host that went dead and wait for a fix and a replay. */
  readonly deadWebhooks: number;
  readonly lastDeadAt: string | null;
}

export function hostStatus(
  seen: readonly (string | null | undefined)[],
  runs: readonly RunReport[],
  nowMs: number,
  silentMs: number,
  dead: Omit<DeadCount, 'byAgent'> = NO_DEAD,
): HostStatus {
  const status = backupStatus(seen, runs, nowMs, silentMs);
  const deadFields = { deadWebhooks: dead.count, lastDeadAt: dead.lastDeadAt };
  if (dead.count === 0) return { ...status, ...deadFields };
  const count = `${String(dead.count)}${dead.capped ? '+' : ''}`;
  const note = `${count} dead webhook${dead.count === 1 ? '' : 's'} (last at ${dead.lastDeadAt ?? '?'}): see the webhooks page, fix the cause and replay`;
  return {
    ...status,
    ...deadFields,
    reason:
      status.health === 'ok' || status.health === 'unknown'
        ? `${status.reason}; ${note}`
        : status.reason,
  };
}

function backupStatus(
  seen: readonly (string | null | undefined)[],
  runs: readonly RunReport[],
  nowMs: number,
  silentMs: number,
): Omit<HostStatus, 'deadWebhooks' | 'lastDeadAt'> {
  const times = [...seen, ...runs.map((run) => run.finishedAt)].filter(
    (at): at is string => typeof at === 'string' && at !== '',
  );
  const lastSeenAt = times.sort().at(-1) ?? null;
  if (lastSeenAt === null || nowMs - Date.parse(lastSeenAt) > silentMs) {
    const minutes = Math.round(silentMs / 60_000);
    return {
      health: 'silent',
      reason:
        lastSeenAt === null
          ? 'nothing heard from this host yet'
          : `nothing heard from this host for more than ${String(minutes)} minutes (last at ${lastSeenAt}): is its worker running, and is its key still valid?`,
      lastSeenAt,
    };
  }
  const failed = runs.filter((run) => !run.success);
  if (failed.length > 0)
    return {
      health: 'failing',
      reason: failed.map((run) => `${run.jobId}: ${run.message}`).join('; '),
      lastSeenAt,
    };
  const behind = runs.filter((run) => (run.counts['left'] ?? 0) > 0);
  if (behind.length > 0)
    return {
      health: 'behind',
      reason: behind
        .map(
          (run) =>
            `${run.jobId}: ${String(run.counts['left'])} changed transcripts not uploaded yet (the run stopped early); the next run sends them`,
        )
        .join('; '),
      lastSeenAt,
    };
  if (runs.length === 0) return { health: 'unknown', reason: 'no run reported yet', lastSeenAt };
  return { health: 'ok', reason: 'every job’s last run succeeded', lastSeenAt };
}

/**
 * A job is due when `intervalMinutes` have passed since its last run started; a job never run is
 * due at once. So is a run that started but never finished (the worker was stopped or killed
 * during it): its work is picked up right away rather than an interval later. A last start in the
 * future (the clock was set back) counts as due, or the job would sleep until the clock caught up.
 */
export function isDue(
  intervalMinutes: number,
  last: { readonly lastStartedAt?: number; readonly lastFinishedAt?: number },
  nowMs: number,
): boolean {
  const { lastStartedAt, lastFinishedAt } = last;
  if (lastStartedAt === undefined || lastStartedAt > nowMs) return true;
  if (lastFinishedAt === undefined || lastFinishedAt < lastStartedAt) return true;
  return nowMs - lastStartedAt >= intervalMinutes * 60_000;
}

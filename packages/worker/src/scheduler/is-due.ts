/**
 * A job is due when `intervalMinutes` have passed since its last run started; a job never run is
 * due at once. A last start in the future (the clock was set back) counts as due, or the job
 * would sleep until the clock caught up.
 */
export function isDue(
  intervalMinutes: number,
  lastStartedAtMs: number | undefined,
  nowMs: number,
): boolean {
  if (lastStartedAtMs === undefined || lastStartedAtMs > nowMs) return true;
  return nowMs - lastStartedAtMs >= intervalMinutes * 60_000;
}

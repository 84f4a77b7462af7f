/**
 * Which state backups to keep: the newest of each of the last `daily` days, `weekly` ISO weeks
 * and `monthly` months (UTC), like a classic grandfather-father-son rotation. Pure.
 */
export interface RetentionPolicy {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

export interface DatedBackup {
  readonly name: string;
  readonly takenAt: string;
}

/** The names to remove: every backup that is not the newest of a kept day, week or month. */
export function backupsToRemove(
  backups: readonly DatedBackup[],
  policy: RetentionPolicy,
): string[] {
  const newestFirst = [...backups].sort((a, b) => b.takenAt.localeCompare(a.takenAt));
  const keep = new Set<string>();
  const periods: [number, (at: Date) => string][] = [
    [policy.daily, (at) => at.toISOString().slice(0, 10)],
    [policy.weekly, isoWeek],
    [policy.monthly, (at) => at.toISOString().slice(0, 7)],
  ];
  for (const [count, periodOf] of periods) {
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      if (seen.size >= count) break;
      const period = periodOf(new Date(backup.takenAt));
      if (seen.has(period)) continue;
      seen.add(period);
      keep.add(backup.name);
    }
  }
  return newestFirst.filter((b) => !keep.has(b.name)).map((b) => b.name);
}

/** `2026-W49`: the ISO 8601 week (weeks start on Monday; week 1 holds the first Thursday). */
function isoWeek(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${String(day.getUTCFullYear())}-W${String(week).padStart(2, '0')}`;
}

/** `openclaw-state-20261202T031500Z.tar.gz.age` ↔ its time. */
export function backupName(at: Date): string {
  const compact = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `openclaw-state-${compact}.tar.gz.age`;
}

export function backupTime(name: string): string | undefined {
  const match = /^openclaw-state-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.tar\.gz\.age$/.exec(
    name,
  );
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  return `${y ?? ''}-${mo ?? ''}-${d ?? ''}T${h ?? ''}:${mi ?? ''}:${s ?? ''}.000Z`;
}

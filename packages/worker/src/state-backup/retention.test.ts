import { describe, expect, it } from 'vitest';
import { backupName, backupTime, backupsToRemove } from './retention.ts';

const at = (iso: string) => ({ name: backupName(new Date(iso)), takenAt: iso });

describe('backupsToRemove', () => {
  it('keeps the newest of each of the last days, weeks and months, and removes the rest', () => {
    // Two a day for 40 days, newest 2026-12-02.
    const backups = Array.from({ length: 80 }, (_, i) =>
      at(new Date(Date.parse('2026-12-02T20:00:00.000Z') - i * 12 * 3_600_000).toISOString()),
    );
    const removed = new Set(backupsToRemove(backups, { daily: 3, weekly: 2, monthly: 2 }));
    const kept = backups.filter((b) => !removed.has(b.name)).map((b) => b.takenAt);
    expect(kept).toEqual([
      '2026-12-02T20:00:00.000Z', // today; also this week's and this month's newest
      '2026-12-01T20:00:00.000Z', // yesterday
      '2026-11-30T20:00:00.000Z', // the day before; also November's newest
      '2026-11-29T20:00:00.000Z', // last ISO week's newest (a Sunday)
    ]);
    expect(removed.size).toBe(76);
    expect(backupsToRemove(backups.slice(0, 1), { daily: 1, weekly: 0, monthly: 0 })).toEqual([]);
  });
});

describe('backup names', () => {
  it('round-trip their time and refuse other names', () => {
    const name = backupName(new Date('2026-12-02T03:15:00.123Z'));
    expect(name).toBe('openclaw-state-20261202T031500Z.tar.gz.age');
    expect(backupTime(name)).toBe('2026-12-02T03:15:00.000Z');
    expect(backupTime('recovery-key.age')).toBeUndefined();
  });
});

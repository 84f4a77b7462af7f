import { describe, expect, it } from 'vitest';
import { runReportOf } from './run-report.ts';

describe('runReportOf', () => {
  it('reports a run with its times and figures, and at most 20 of its errors, clipped', () => {
    const errors = Array.from({ length: 25 }, (_, i) => ({
      item: `file-${String(i)}.jsonl`,
      message: i === 0 ? 'x'.repeat(2000) : 'the API answered 500',
    }));
    const report = runReportOf(
      { id: 'session-upload', type: 'session_upload' },
      {
        success: false,
        message: '3 of 28 failed',
        counts: { uploaded: 25, failed: 3 },
        errors,
        durationMs: 1500,
      },
      new Date('2026-12-02T10:00:01.500Z'),
    );
    expect(report).toMatchObject({
      jobId: 'session-upload',
      type: 'session_upload',
      startedAt: '2026-12-02T10:00:00.000Z',
      finishedAt: '2026-12-02T10:00:01.500Z',
      success: false,
      counts: { uploaded: 25, failed: 3 },
      errorCount: 25,
    });
    expect(report.errors).toHaveLength(20);
    expect(report.errors[0]?.message).toHaveLength(1000);
    expect(report.errors[0]?.message.endsWith('…')).toBe(true);
  });
});

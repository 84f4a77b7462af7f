import { describe, expect, it } from 'vitest';
import type { RunReport } from '@nexus/core';
import { hostStatus } from './host-status.ts';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const HOUR = 3600_000;

function run(jobId: string, success: boolean, finishedAt: string, message = 'done'): RunReport {
  return {
    jobId,
    type: 'session_upload',
    startedAt: finishedAt,
    finishedAt,
    success,
    message,
    counts: {},
    errors: [],
    errorCount: 0,
  };
}

describe('hostStatus', () => {
  it('is ok when every job’s last run succeeded and the host was heard from lately', () => {
    expect(
      hostStatus(
        [null, '2026-12-02T11:50:00.000Z'],
        [run('a', true, '2026-12-02T11:40:00.000Z')],
        NOW,
        HOUR,
      ),
    ).toEqual({
      health: 'ok',
      reason: 'every job’s last run succeeded',
      lastSeenAt: '2026-12-02T11:50:00.000Z',
      deadWebhooks: 0,
      lastDeadAt: null,
    });
  });

  it('counts dead webhooks, and names them in the reason of a host that is otherwise fine', () => {
    const fine = hostStatus(
      ['2026-12-02T11:50:00.000Z'],
      [run('a', true, '2026-12-02T11:40:00.000Z')],
      NOW,
      HOUR,
      { count: 3, capped: false, lastDeadAt: '2026-12-02T11:45:00.000Z' },
    );
    expect(fine).toMatchObject({ health: 'ok', deadWebhooks: 3 });
    expect(fine.reason).toBe(
      'every job’s last run succeeded; 3 dead webhooks (last at 2026-12-02T11:45:00.000Z): see the webhooks page, fix the cause and replay',
    );
    const capped = hostStatus(['2026-12-02T11:50:00.000Z'], [], NOW, HOUR, {
      count: 200,
      capped: true,
      lastDeadAt: '2026-12-02T11:45:00.000Z',
    });
    expect(capped.reason).toContain('200+ dead webhooks');
    // A failing host's reason stays about its failure; the count is still there.
    const failing = hostStatus(
      ['2026-12-02T11:50:00.000Z'],
      [run('a', false, '2026-12-02T11:40:00.000Z')],
      NOW,
      HOUR,
      { count: 1, capped: false, lastDeadAt: '2026-12-02T11:45:00.000Z' },
    );
    expect(failing).toMatchObject({ health: 'failing', deadWebhooks: 1 });
    expect(failing.reason).not.toContain('dead webhook');
  });

  it('is failing with the failed jobs’ messages', () => {
    const status = hostStatus(
      [],
      [
        run(
          'session-upload',
          false,
          '2026-12-02T11:59:00.000Z',
          'stopped: the API refused the key',
        ),
        run('webhooks', true, '2026-12-02T11:59:00.000Z'),
      ],
      NOW,
      HOUR,
    );
    expect(status).toMatchObject({
      health: 'failing',
      reason: 'session-upload: stopped: the API refused the key',
    });
  });

  it('is behind when a backup run stopped before it had uploaded everything that changed', () => {
    const stopped = {
      ...run('session-upload', true, '2026-12-02T11:59:00.000Z'),
      counts: { left: 7 },
    };
    const status = hostStatus(
      [],
      [stopped, run('webhooks', true, '2026-12-02T11:59:00.000Z')],
      NOW,
      HOUR,
    );
    expect(status).toMatchObject({
      health: 'behind',
      reason: expect.stringMatching(
        /^session-upload: 7 changed transcripts not uploaded yet/,
      ) as unknown,
    });
    const caughtUp = { ...stopped, counts: { left: 0, uploaded: 7 } };
    expect(hostStatus([], [caughtUp], NOW, HOUR).health).toBe('ok');
  });

  it('is silent when nothing was heard for longer than the limit, whatever the last run said', () => {
    const status = hostStatus(
      ['2026-12-02T10:30:00.000Z'],
      [run('a', true, '2026-12-02T10:40:00.000Z')],
      NOW,
      HOUR,
    );
    expect(status.health).toBe('silent');
    expect(status.reason).toMatch(/more than 60 minutes \(last at 2026-12-02T10:40:00.000Z\)/);
    expect(hostStatus([], [], NOW, HOUR)).toMatchObject({ health: 'silent', lastSeenAt: null });
  });

  it('is unknown when the host was heard from but reported no run', () => {
    expect(hostStatus(['2026-12-02T11:59:00.000Z'], [], NOW, HOUR).health).toBe('unknown');
  });
});

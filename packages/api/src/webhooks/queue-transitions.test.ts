import { describe, expect, it } from 'vitest';
import { transition, type Transition } from './queue-transitions.ts';
import { arrivingItem, type WebhookItem } from './webhook-item.ts';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const context = {
  nowMs: NOW,
  retry: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 3_600_000 },
  random: () => 0.5,
};
const pending: WebhookItem = {
  hostId: 'laptop',
  agentId: 'main',
  id: 'wh_1',
  endpointId: 'gh',
  provider: 'github',
  eventType: 'issues',
  dedupeKey: 'd',
  receivedAt: '2026-11-25T11:59:00.000Z',
  contentType: 'application/json',
  bytes: 2,
  headers: {},
  delivery: { action: 'agent' },
  ...arrivingItem('k', NOW, 'salt'),
};

/** The item after a transition that keeps it in the queue. */
function after(item: WebhookItem, next: Transition): WebhookItem {
  if (next.to !== 'queue') throw new Error(`expected the queue, got ${next.to}`);
  return { ...item, ...next.changes };
}

const claim = { type: 'claim', leaseMs: 30_000, newSalt: 'unused' } as const;
const settle = (settlement: Record<string, unknown>) =>
  ({
    type: 'settle',
    settlement: { agentId: 'main', id: 'wh_1', ...settlement },
  }) as Parameters<typeof transition>[1];

describe('the webhook queue state machine', () => {
  it('leases a pending item: an attempt, a numbered lease, due again when the lease ends', () => {
    const next = transition(pending, claim, context);
    expect(next).toMatchObject({ to: 'queue', dueMs: NOW + 30_000 });
    const leased = after(pending, next);
    expect(leased).toMatchObject({ state: 'leased', attempts: 1, leaseSeq: 1 });
    expect(leased.leaseId).toMatch(/^1-[0-9a-f]{24}$/);
    expect(next.to === 'queue' && next.leaseId).toBe(leased.leaseId);
  });

  it('accepts "delivered" with an expired lease of the item, refuses a made-up one, and ignores a repeat', () => {
    const first = after(pending, transition(pending, claim, context));
    const second = after(first, transition(first, claim, context));
    expect(
      transition(second, settle({ leaseId: first.leaseId, outcome: 'delivered' }), context),
    ).toMatchObject({
      to: 'final',
      state: 'delivered',
      changes: { deliveredAt: new Date(NOW).toISOString() },
    });
    expect(() =>
      transition(
        second,
        settle({ leaseId: '9-000000000000000000000000', outcome: 'delivered' }),
        context,
      ),
    ).toThrow(/never issued/);
    expect(
      transition(
        { ...second, state: 'delivered' },
        settle({ leaseId: second.leaseId, outcome: 'delivered' }),
        context,
      ),
    ).toEqual({ to: 'unchanged' });
  });

  it('refuses a failure from a lease that is not the current one (lease_lost)', () => {
    const first = after(pending, transition(pending, claim, context));
    const second = after(first, transition(first, claim, context));
    expect(() =>
      transition(
        second,
        settle({ leaseId: first.leaseId, outcome: 'failed', reason: 'x' }),
        context,
      ),
    ).toThrow(/no longer leased to this worker/);
  });

  it('backs a failure off with equal jitter, then dead-letters it after the last attempt', () => {
    const leased = after(pending, transition(pending, claim, context));
    const failed = transition(
      leased,
      settle({ leaseId: leased.leaseId, outcome: 'failed', reason: 'boom', status: 500 }),
      context,
    );
    // 60 s for the first failure, jitter pinned at its middle: 45 s.
    expect(failed).toMatchObject({
      to: 'queue',
      dueMs: NOW + 45_000,
      changes: { state: 'pending', lastStatus: 500 },
    });
    const last = { ...leased, attempts: 3 };
    expect(
      transition(
        last,
        settle({ leaseId: last.leaseId, outcome: 'failed', reason: 'boom' }),
        context,
      ),
    ).toMatchObject({
      to: 'final',
      state: 'dead',
      changes: { lastError: 'boom' },
    });
  });

  it('hands a released item back without spending its attempt, after Retry-After', () => {
    const leased = after(pending, transition(pending, claim, context));
    const released = transition(
      leased,
      settle({
        leaseId: leased.leaseId,
        outcome: 'released',
        reason: 'gateway down',
        retryAfterSeconds: 7,
      }),
      context,
    );
    expect(released).toMatchObject({ to: 'queue', dueMs: NOW + 7000, changes: { attempts: 0 } });
  });

  it('dead-letters a rejected item at once, with attempts left, and only from its current lease', () => {
    const leased = after(pending, transition(pending, claim, context));
    expect(leased.attempts).toBe(1);
    expect(
      transition(
        leased,
        settle({
          leaseId: leased.leaseId,
          outcome: 'rejected',
          reason: 'the gateway has no such hook (404)',
          status: 404,
        }),
        context,
      ),
    ).toEqual({
      to: 'final',
      state: 'dead',
      changes: {
        lastError: 'the gateway has no such hook (404)',
        lastStatus: 404,
        history: [
          {
            at: new Date(NOW).toISOString(),
            outcome: 'rejected',
            status: 404,
            error: 'the gateway has no such hook (404)',
          },
        ],
      },
    });
    const again = after(leased, transition(leased, claim, context));
    expect(() =>
      transition(
        again,
        settle({ leaseId: leased.leaseId, outcome: 'rejected', reason: 'x' }),
        context,
      ),
    ).toThrow(/no longer leased to this worker/);
  });

  it('dead-letters an item whose lease expired on its last attempt', () => {
    const stuck = { ...pending, state: 'leased' as const, attempts: 3 };
    expect(transition(stuck, claim, context)).toMatchObject({ to: 'final', state: 'dead' });
  });

  it('replays only a delivered or dead item, counting replays and keeping the first delivery time', () => {
    expect(() => transition(pending, { type: 'replay' }, context)).toThrow(/still in the queue/);
    const delivered = {
      ...pending,
      state: 'delivered' as const,
      deliveredAt: '2026-11-25T11:00:00.000Z',
      replays: 1,
    };
    const next = transition(delivered, { type: 'replay' }, context);
    expect(next).toMatchObject({
      to: 'queue',
      dueMs: NOW,
      changes: { state: 'pending', attempts: 0, replays: 2 },
    });
    expect(after(delivered, next).deliveredAt).toBe('2026-11-25T11:00:00.000Z');
  });
});

describe("an item's history", () => {
  const final = (item: WebhookItem, next: Transition): WebhookItem => {
    if (next.to !== 'final') throw new Error(`expected a final state, got ${next.to}`);
    return { ...item, ...next.changes, state: next.state };
  };

  it("records each outcome with the gateway's answer, and replays, oldest first", () => {
    const leased = after(pending, transition(pending, claim, context));
    const failed = after(
      leased,
      transition(
        leased,
        settle({
          leaseId: leased.leaseId,
          outcome: 'failed',
          reason: 'gateway answered 502',
          status: 502,
        }),
        context,
      ),
    );
    const again = after(failed, transition(failed, claim, context));
    const delivered = final(
      again,
      transition(
        again,
        settle({ leaseId: again.leaseId, outcome: 'delivered', status: 200 }),
        context,
      ),
    );
    const replayed = after(delivered, transition(delivered, { type: 'replay' }, context));
    expect(replayed.history.map((r) => [r.outcome, r.status, r.error])).toEqual([
      ['failed', 502, 'gateway answered 502'],
      ['delivered', 200, undefined],
      ['replayed', undefined, undefined],
    ]);
  });

  it('keeps the last 20 records, errors cut short', () => {
    let item: WebhookItem = { ...pending, history: [] };
    for (let i = 0; i < 25; i += 1) {
      const leased = after(item, transition(item, claim, context));
      item = after(
        leased,
        transition(
          leased,
          settle({
            leaseId: leased.leaseId,
            outcome: 'released',
            reason: `busy ${i} ${'x'.repeat(900)}`,
          }),
          context,
        ),
      );
    }
    expect(item.history).toHaveLength(20);
    expect(item.history[0]?.error?.startsWith('busy 5 ')).toBe(true);
    expect(item.history[19]?.error?.length).toBe(300);
  });

  it('pauses a queued item (an expired lease is not counted as an attempt) and resumes it when it was due', () => {
    const paused = transition(pending, { type: 'hold' }, context);
    expect(paused).toEqual({
      to: 'paused',
      changes: {
        state: 'paused',
        leaseId: '',
        leaseUntil: '',
        attempts: 0,
        pausedAt: new Date(NOW).toISOString(),
      },
    });
    const leased = after(pending, transition(pending, claim, context));
    const held = transition(leased, { type: 'hold' }, context);
    expect(held.to === 'paused' && held.changes.attempts).toBe(0);
    const item = { ...pending, ...(held.to === 'paused' ? held.changes : {}) };
    expect(transition(item, { type: 'resume', dueMs: NOW - 5 }, context)).toEqual({
      to: 'queue',
      dueMs: NOW - 5,
      changes: { state: 'pending', pausedKey: '', pausedAt: '' },
    });
    expect(() => transition(pending, { type: 'resume', dueMs: NOW }, context)).toThrow(
      /not paused/,
    );
    const delivered = { ...pending, state: 'delivered' as const };
    expect(() => transition(delivered, { type: 'hold' }, context)).toThrow(/only items waiting/);
  });

  it('replays a filtered item, but not a paused one (its endpoint is resumed instead)', () => {
    expect(
      transition({ ...pending, state: 'filtered' }, { type: 'replay' }, context),
    ).toMatchObject({ to: 'queue', dueMs: NOW, changes: { state: 'pending', replays: 1 } });
    expect(() => transition({ ...pending, state: 'paused' }, { type: 'replay' }, context)).toThrow(
      /resume the endpoint/,
    );
  });
});

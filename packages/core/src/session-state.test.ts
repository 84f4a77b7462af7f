import { describe, expect, it } from 'vitest';
import type { Generation } from './session.ts';
import { sessionStateOf } from './session-state.ts';
import type { TranscriptSummary } from './transcript/summary.ts';

const summary = {} as TranscriptSummary;

function generation(over: Partial<Generation>): Generation {
  return {
    hostId: 'h',
    agentId: 'main',
    sessionId: 's1',
    sha256: 'a'.repeat(64),
    kind: 'live',
    fileName: 's1.jsonl',
    receivedAt: '2026-11-01T10:00:00.000Z',
    summary,
    ...over,
  };
}

describe('sessionStateOf', () => {
  it('is live with only snapshots, and says when it was last backed up', () => {
    const state = sessionStateOf(
      [
        generation({ origin: 'snapshot' }),
        generation({ origin: 'snapshot', receivedAt: '2026-11-02T10:00:00.000Z' }),
      ],
      {},
    );
    expect(state).toEqual({ state: 'live', lastBackedUpAt: '2026-11-02T10:00:00.000Z' });
  });

  it('is live for generations from workers that did not say how they came (before 0.4)', () => {
    expect(sessionStateOf([generation({})], {}).state).toBe('live');
  });

  it('has ended once a completed upload was stored', () => {
    const state = sessionStateOf(
      [
        generation({ origin: 'snapshot' }),
        generation({ origin: 'completed', receivedAt: '2026-11-03T00:00:00.000Z' }),
      ],
      {},
    );
    expect(state).toMatchObject({ state: 'ended', since: '2026-11-03T00:00:00.000Z' });
  });

  it('was reset when a reset archive was stored, at the time in its name', () => {
    const state = sessionStateOf(
      [
        generation({ origin: 'snapshot' }),
        generation({
          kind: 'reset',
          origin: 'archive',
          fileName: 's1.jsonl.reset.2026-02-02T20-29-47.344Z',
        }),
      ],
      {},
    );
    expect(state).toMatchObject({ state: 'reset', since: '2026-02-02T20:29:47.344Z' });
  });

  it('was superseded, by the session its context names', () => {
    const state = sessionStateOf([generation({ origin: 'completed' })], { supersededBy: 's2' });
    expect(state).toMatchObject({
      state: 'superseded',
      supersededBy: 's2',
      since: '2026-11-01T10:00:00.000Z',
    });
  });

  it('was deleted, whatever came before, with the archive context from OpenClaw', () => {
    const state = sessionStateOf(
      [
        generation({ origin: 'snapshot' }),
        generation({
          kind: 'deleted',
          origin: 'archive',
          fileName:
            's1.jsonl.deleted.2026-09-01T10-00-00.000Z.0123456789abcdef0123456789abcdef.zst',
          receivedAt: '2026-11-05T00:00:00.000Z',
        }),
      ],
      { supersededBy: 's2', sessionKey: 'hook:ab12', archiveReason: 'delete' },
    );
    expect(state).toEqual({
      state: 'deleted',
      since: '2026-09-01T10:00:00.000Z',
      sessionKey: 'hook:ab12',
      archiveReason: 'delete',
      lastBackedUpAt: '2026-11-05T00:00:00.000Z',
    });
  });

  it('falls back to the time received when an archive name holds no valid time', () => {
    const state = sessionStateOf(
      [generation({ kind: 'deleted', fileName: 's1.jsonl.deleted.2026-13-45T99-00-00.000Z' })],
      {},
    );
    expect(state.since).toBe('2026-11-01T10:00:00.000Z');
  });
});

import { describe, expect, it } from 'vitest';
import { decide, type CandidateFile, type LiveSessions } from './completion.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const MIN = 60_000;
const policy = { nowMs: NOW, quietMs: 15 * MIN, snapshots: false };
const live: LiveSessions = {
  sessionIds: new Set(['live-id']),
  sessionFiles: new Set(['/s/custom-name.jsonl']),
};
const file = (over: Partial<CandidateFile>): CandidateFile => ({
  kind: 'live',
  path: '/s/x.jsonl',
  stemId: 'x',
  headerId: 'x',
  mtimeMs: NOW - 60 * MIN,
  locked: false,
  ...over,
});

describe('decide: is a transcript complete?', () => {
  it.each<[string, Partial<CandidateFile>, boolean, RegExp]>([
    [
      'a reset archive, even just written and locked',
      { kind: 'reset', mtimeMs: NOW, locked: true },
      true,
      /reset archive/,
    ],
    ['a deleted archive', { kind: 'deleted', stemId: 'live-id' }, true, /deleted archive/],
    ['a .bak of a live session', { kind: 'bak', stemId: 'live-id' }, true, /compaction/],
    ['an orphan: unreferenced, unlocked, quiet', {}, true, /complete/],
    [
      'a primary whose id is a live sessionId',
      { stemId: 'live-id', headerId: 'live-id' },
      false,
      /live session/,
    ],
    [
      'a primary whose header id is live though its name differs',
      { stemId: 'old-name', headerId: 'live-id' },
      false,
      /live session/,
    ],
    [
      'a primary whose path is a sessionFile',
      { path: '/s/custom-name.jsonl', stemId: 'custom-name' },
      false,
      /live session/,
    ],
    ['a locked primary', { locked: true }, false, /lock/],
    ['a primary changed 5 minutes ago', { mtimeMs: NOW - 5 * MIN }, false, /waiting for 15 min/],
    ['a primary exactly at the quiet window', { mtimeMs: NOW - 15 * MIN }, true, /complete/],
  ])('%s → upload %s', (_label, over, upload, reason) => {
    const decision = decide(file(over), live, policy);
    expect(decision.upload).toBe(upload);
    expect(decision.reason).toMatch(reason);
  });

  it('snapshots a quiet, unlocked live session only when asked to', () => {
    const liveFile = file({ stemId: 'live-id', headerId: 'live-id' });
    expect(decide(liveFile, live, { ...policy, snapshots: true })).toEqual({
      upload: true,
      reason: expect.stringMatching(/snapshot/) as string,
      snapshot: true,
    });
    expect(decide({ ...liveFile, locked: true }, live, { ...policy, snapshots: true }).upload).toBe(
      false,
    );
    expect(
      decide({ ...liveFile, mtimeMs: NOW - MIN }, live, { ...policy, snapshots: true }).upload,
    ).toBe(false);
  });
});

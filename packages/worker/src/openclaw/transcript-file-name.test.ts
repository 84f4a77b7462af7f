import { describe, expect, it } from 'vitest';
import { classifyFileName } from './transcript-file-name.ts';

const ID = '7c1e2a4b-5d6f-4a8b-9c0d-1e2f3a4b5c6d';
const TS = '2026-02-02T20-29-47.344Z';

describe('classifyFileName', () => {
  it.each([
    [`${ID}.jsonl`, { role: 'transcript', kind: 'live', stem: ID, compressed: false }],
    [
      `${ID}-topic-12.jsonl`,
      { role: 'transcript', kind: 'live', stem: `${ID}-topic-12`, compressed: false },
    ],
    [
      `${TS}_${ID}.jsonl`,
      { role: 'transcript', kind: 'live', stem: `${TS}_${ID}`, compressed: false },
    ],
    [`${ID}.jsonl.reset.${TS}`, { role: 'transcript', kind: 'reset', stem: ID, compressed: false }],
    [
      `${ID}.jsonl.reset.${TS}.zst`,
      { role: 'transcript', kind: 'reset', stem: ID, compressed: true },
    ],
    [
      `${ID}.jsonl.deleted.${TS}`,
      { role: 'transcript', kind: 'deleted', stem: ID, compressed: false },
    ],
    [
      `${ID}.jsonl.deleted.${TS}.zst`,
      { role: 'transcript', kind: 'deleted', stem: ID, compressed: true },
    ],
    [
      `${ID}.jsonl.deleted.${TS}.${'0123456789abcdef'.repeat(2)}.zst`,
      { role: 'transcript', kind: 'deleted', stem: ID, compressed: true },
    ],
    [`${ID}.jsonl.bak.${TS}`, { role: 'transcript', kind: 'bak', stem: ID, compressed: false }],
    [
      `${ID}-topic-3.jsonl.reset.${TS}`,
      { role: 'transcript', kind: 'reset', stem: `${ID}-topic-3`, compressed: false },
    ],
    [`${ID}.jsonl.lock`, { role: 'lock', stem: ID }],
  ])('reads %s', (name, expected) => {
    expect(classifyFileName(name)).toEqual(expected);
  });

  it.each([
    'sessions.json',
    'sessions.json.lock',
    'sessions.json.bak.3',
    `${ID}.jsonl.tmp`,
    `${ID}.trajectory.jsonl`,
    `${ID}.trajectory-path.json`,
    `${ID}.checkpoint.0b1c2d3e-aaaa-bbbb-cccc-000011112222.jsonl`,
    `${ID}.jsonl.reset.yesterday`,
    `${ID}.jsonl.reset.${TS}.gz`,
    `.${ID}.jsonl`,
    'notes.txt',
    `${ID}.json`,
  ])('ignores %s, saying why', (name) => {
    const result = classifyFileName(name);
    expect(result.role).toBe('ignored');
    expect(result.role === 'ignored' && result.reason.length).toBeGreaterThan(5);
  });
});

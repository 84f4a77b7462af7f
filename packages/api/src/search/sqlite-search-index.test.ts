import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SearchDoc } from './search-docs.ts';
import { parseQuery } from './search-text.ts';
import { SqliteSearchIndex } from './sqlite-search-index.ts';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');
const ALL = ['user', 'assistant', 'tool'] as const;

describe('SqliteSearchIndex', () => {
  let dir: string;
  let index: SqliteSearchIndex;
  const item = (sessionId: string, hostId = 'laptop') => ({
    hostId,
    agentId: 'main',
    sessionId,
    sha256: 'a'.repeat(64),
  });
  const doc = (entry: string, day: number, text: string): SearchDoc => ({
    entry,
    line: 0,
    role: 'user',
    timeMs: START + day * DAY,
    text,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexus-index-'));
    // Two matches ranked at most, so a common word shows on a few messages.
    index = new SqliteSearchIndex(join(dir, 'search.sqlite'), { ranked: 2 });
  });
  afterEach(async () => {
    index.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a word in more messages than it ranks newest first, and says so', () => {
    for (let day = 0; day < 6; day += 1)
      index.add(item(`s${day}`), [doc(`m${day}`, day, 'backup done')], true);
    const answer = index.search(parseQuery('backup'), { roles: [...ALL] }, 10);
    expect(answer.capped).toBe(true);
    expect(answer.hits.map((h) => h.entry).slice(0, 3)).toEqual(['m5', 'm4', 'm3']);
  });

  it('finds old messages in an old time range even when newer ones fill the window', () => {
    // Indexed oldest first: the newest matches are outside the range asked for.
    for (let day = 0; day < 120; day += 10)
      index.add(item(`s${day}`), [doc(`m${day}`, day, 'backup done')], true);
    const answer = index.search(
      parseQuery('backup'),
      { roles: [...ALL], fromMs: START, toMs: START + 25 * DAY },
      10,
    );
    expect(answer.hits.map((h) => h.entry)).toEqual(['m20', 'm10', 'm0']);
  });

  it('ranks the better match first: more of the words, in a shorter message', () => {
    index.add(
      item('s1'),
      [doc('long', 1, `disk ${'filler '.repeat(60)}`), doc('short', 2, 'disk disk full')],
      true,
    );
    const answer = new SqliteSearchIndex(join(dir, 'search.sqlite')).search(
      parseQuery('disk'),
      { roles: [...ALL] },
      10,
    );
    expect(answer.hits.map((h) => h.entry)).toEqual(['short', 'long']);
  });

  it('keeps each message of a session once, and the same entry id of another session apart', () => {
    expect(index.add(item('s1'), [doc('m1', 1, 'hello there')], false)).toBe(1);
    expect(index.add(item('s1'), [doc('m1', 1, 'hello there')], true)).toBe(0);
    expect(index.add(item('s2'), [doc('m1', 1, 'hello there')], true)).toBe(1);
    expect(index.add(item('s1', 'desk'), [doc('m1', 1, 'hello there')], true)).toBe(1);
    expect(index.stats().messages).toBe(3);
    expect(index.isIndexed(item('s1'))).toBe(true);
  });

  it('keeps the queue across a rebuild and across a reopening', () => {
    index.enqueue({ ...item('s9'), fromByte: 10, fromLine: 2 });
    index.add(item('s1'), [doc('m1', 1, 'hello')], true);
    index.recreate();
    expect(index.stats()).toMatchObject({ messages: 0 });
    expect(index.count(10)).toBe(1);
    index.close();
    index = new SqliteSearchIndex(join(dir, 'search.sqlite'));
    expect(index.fresh).toBe(false);
    expect(index.oldest(5)).toMatchObject([{ sessionId: 's9', fromByte: 10, fromLine: 2 }]);
  });
});

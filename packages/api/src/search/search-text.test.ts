import { describe, expect, it } from 'vitest';
import { ValidationError } from '@nexus/core';
import { indexText, parseQuery } from './search-text.ts';
import { snippetOf } from './snippet.ts';

describe('indexText', () => {
  it('writes CJK runs as overlapping pairs then each character, Latin text as it is', () => {
    expect(indexText('今天会议')).toBe(' 今天 天会 会议 今 天 会 议 ');
    expect(indexText('Café 会 ok')).toBe('Café  会  ok');
    expect(indexText('회의를 시작')).toBe(' 회의 의를 회 의 를   시작 시 작 ');
    expect(indexText('plain words')).toBe('plain words');
  });
});

describe('parseQuery', () => {
  it('ANDs words, keeps phrases, marks prefixes, and drops a literal AND', () => {
    expect(parseQuery('backup "disk full" reso* AND now')).toEqual({
      match: '"backup" AND "disk full" AND "reso" * AND "now"',
      terms: [
        { text: 'backup', prefix: false },
        { text: 'disk full', prefix: false },
        { text: 'reso', prefix: true },
        { text: 'now', prefix: false },
      ],
    });
  });

  it('turns a CJK word into a phrase of pairs, one character into its own token', () => {
    expect(parseQuery('会议').match).toBe('"会议"');
    expect(parseQuery('会议记录').match).toBe('"会议 议记 记录"');
    expect(parseQuery('회의').match).toBe('"회의"');
    expect(parseQuery('会').match).toBe('"会"');
  });

  it('quotes whatever FTS5 would read as syntax, so no query is an engine error', () => {
    expect(parseQuery('a"b NEAR(x) col:y -z ^w').match).toBe(
      '"a""b" AND "NEAR(x)" AND "col:y" AND "-z" AND "^w"',
    );
    expect(parseQuery('say "hi""').match).toBe('"say" AND "hi"');
  });

  it.each([
    ['', /nothing to search for/],
    ['"" *** ...', /nothing to search for/],
    ['x'.repeat(501), /up to 500/],
    [Array.from({ length: 21 }, (_, i) => `w${i}`).join(' '), /up to 20 are searched/],
  ])('refuses %j, stating the syntax', (q, message) => {
    expect(() => parseQuery(q)).toThrow(ValidationError);
    expect(() => parseQuery(q)).toThrow(message);
  });
});

describe('snippetOf', () => {
  const terms = (q: string) => parseQuery(q).terms;

  it('marks a word whatever its case and accents, only where a word starts and ends', () => {
    const snippet = snippetOf('The CAFÉ opens; cafeteria closed.\nCafe again', terms('cafe'));
    expect(snippet.text).toBe('The CAFÉ opens; cafeteria closed. Cafe again');
    expect(snippet.marks.map(([a, b]) => snippet.text.slice(a, b))).toEqual(['CAFÉ', 'Cafe']);
  });

  it('marks a prefix, a phrase and a CJK word inside a run', () => {
    const a = snippetOf('resolved the disk full alarm', terms('reso* "disk full"'));
    expect(a.marks.map(([x, y]) => a.text.slice(x, y))).toEqual(['resolved', 'disk full']);
    const b = snippetOf('明天的会议记录在这里', terms('会议'));
    expect(b.marks.map(([x, y]) => b.text.slice(x, y))).toEqual(['会议']);
  });

  it('cuts a window around the first match, with ellipses, and keeps marks inside it', () => {
    const text = `${'lorem '.repeat(50)}needle ${'ipsum '.repeat(60)}`;
    const snippet = snippetOf(text, terms('needle'));
    expect(snippet.text.startsWith('…')).toBe(true);
    expect(snippet.text.endsWith('…')).toBe(true);
    expect(snippet.text.length).toBeLessThan(230);
    const [mark] = snippet.marks;
    expect(mark && snippet.text.slice(mark[0], mark[1])).toBe('needle');
  });

  it('never splits a surrogate pair at the window’s edge', () => {
    const text = `${'😀'.repeat(100)} needle ${'😀'.repeat(200)}`;
    const snippet = snippetOf(text, terms('needle'));
    expect(snippet.text).not.toMatch(
      /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/,
    );
  });
});

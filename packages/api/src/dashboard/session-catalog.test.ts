import { describe, expect, it } from 'vitest';
import { csvField } from './pages/usage-page.ts';
import { filterSessions, fold, type CatalogSession } from './session-catalog.ts';

const session = (over: Partial<CatalogSession>): CatalogSession => ({
  hostId: 'laptop',
  agentId: 'main',
  sessionId: 's',
  title: null,
  startedAt: null,
  activityAt: '2026-12-01T00:00:00.000Z',
  messages: 1,
  toolCalls: 0,
  tokens: 1,
  costUsd: 0,
  storedBytes: 1,
  state: 'live',
  models: [],
  channel: undefined,
  folded: '',
  ...over,
});

const all = () => true;

describe('the session list filter', () => {
  const sessions = [
    session({
      sessionId: 'a',
      title: 'Café au lait',
      folded: fold('Café au lait'),
      costUsd: 3,
      activityAt: '2026-11-01T00:00:00.000Z',
    }),
    session({
      sessionId: 'b',
      hostId: 'server',
      state: 'deleted',
      costUsd: 9,
      models: ['gpt-5'],
      activityAt: '2026-11-20T00:00:00.000Z',
    }),
    session({
      sessionId: 'c',
      channel: 'telegram',
      storedBytes: 99,
      activityAt: '2026-12-01T00:00:00.000Z',
      title: '会议记录',
      folded: fold('会议记录'),
    }),
  ];
  const ids = (found: CatalogSession[]) => found.map((s) => s.sessionId);

  it('sorts by activity, cost and size, largest or newest first', () => {
    expect(ids(filterSessions(sessions, { sort: 'activity', readable: all }))).toEqual([
      'c',
      'b',
      'a',
    ]);
    expect(ids(filterSessions(sessions, { sort: 'cost', readable: all }))).toEqual(['b', 'a', 'c']);
    expect(ids(filterSessions(sessions, { sort: 'size', readable: all }))[0]).toBe('c');
  });

  it('filters by each field, title words ignoring case and accents', () => {
    const by = (filter: object) =>
      ids(filterSessions(sessions, { sort: 'activity', readable: all, ...filter }));
    expect(by({ text: 'CAFE' })).toEqual(['a']);
    expect(by({ text: 'cafe lait' })).toEqual(['a']);
    expect(by({ text: '会议' })).toEqual(['c']);
    expect(by({ hostId: 'server' })).toEqual(['b']);
    expect(by({ state: 'deleted' })).toEqual(['b']);
    expect(by({ model: 'gpt-5' })).toEqual(['b']);
    expect(by({ channel: 'telegram' })).toEqual(['c']);
    expect(by({ fromMs: Date.parse('2026-11-15'), toMs: Date.parse('2026-11-30') })).toEqual(['b']);
  });

  it('leaves out the hosts the key may not read', () => {
    expect(
      ids(filterSessions(sessions, { sort: 'activity', readable: (h) => h === 'server' })),
    ).toEqual(['b']);
  });
});

describe('CSV fields', () => {
  it('quotes what needs quoting and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(0.25)).toBe('0.25');
  });
});

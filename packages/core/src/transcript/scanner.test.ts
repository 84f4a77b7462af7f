import { describe, expect, it } from 'vitest';
import { buildTranscript } from '../testing/index.ts';
import { MAX_TITLE_CHARS, TranscriptError, TranscriptScanner } from './scanner.ts';
import type { UsageRecord } from './summary.ts';

const HEADER = '{"type":"session","version":3,"id":"s1","timestamp":"2026-02-03T09:14:02.118Z"}';

function scan(text: string | Uint8Array, chunkSize = 7, maxLineBytes?: number) {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const usage: UsageRecord[] = [];
  const scanner = new TranscriptScanner({
    onUsage: (record) => usage.push(record),
    ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
  });
  for (let offset = 0; offset < bytes.length; offset += chunkSize)
    scanner.push(bytes.subarray(offset, offset + chunkSize));
  return { ...scanner.finish(), usage };
}

/** The error of a failing scan, which must be the same whether lines arrive whole or in pieces. */
function scanError(text: string | Uint8Array, maxLineBytes?: number): TranscriptError {
  // A line is bounded while it is held across chunks; one that came whole was already in memory.
  const sizes = maxLineBytes === undefined ? [7, 1 << 20] : [7, 7];
  const errors = sizes.map((chunkSize) => {
    try {
      scan(text, chunkSize, maxLineBytes);
    } catch (error) {
      if (error instanceof TranscriptError) return error;
      throw error;
    }
    throw new Error('the scan was expected to fail');
  });
  const [inPieces, whole] = errors;
  if (!inPieces || !whole) throw new Error('unreachable');
  expect({ code: whole.code, line: whole.line, message: whole.message }).toEqual({
    code: inPieces.code,
    line: inPieces.line,
    message: inPieces.message,
  });
  return inPieces;
}

describe('TranscriptScanner', () => {
  it('summarises a realistic transcript the same whatever the chunk size', () => {
    const built = buildTranscript({
      sessionId: 's1',
      turns: 30,
      toolEvery: 3,
      mirrors: true,
      compaction: true,
    });
    const whole = scan(built.text, 1 << 20);
    for (const size of [1, 3, 64, 4096]) expect(scan(built.text, size)).toEqual(whole);
    const { summary, usage } = whole;
    expect(summary.sessionId).toBe('s1');
    expect(summary.lines).toBe(built.expected.lines);
    expect(summary.bytes).toBe(Buffer.byteLength(built.text));
    expect(summary.tokens.input).toBe(built.expected.input);
    expect(summary.tokens.output).toBe(built.expected.output);
    expect(summary.tokens.cacheRead).toBe(built.expected.cacheRead);
    expect(summary.tokens.cacheWrite).toBe(built.expected.cacheWrite);
    expect(summary.costUsd).toBeCloseTo(built.expected.costUsd, 9);
    expect(summary.toolCalls).toEqual({ exec: 5, read: 5 });
    expect(summary.compactions).toBe(1);
    expect(usage).toHaveLength(built.expected.assistantMessages);
  });

  it('resumed after any line of a transcript, summarises the whole as one scan does', () => {
    const built = buildTranscript({ sessionId: 's1', turns: 12, toolEvery: 3, compaction: true });
    const bytes = new TextEncoder().encode(built.text);
    const whole = scan(bytes, 1 << 20);
    let cuts = 0;
    for (
      let cut = bytes.indexOf(0x0a) + 1;
      cut > 0 && cut < bytes.length;
      cut = bytes.indexOf(0x0a, cut) + 1
    ) {
      const base = scan(bytes.subarray(0, cut), 1 << 20);
      const usage: UsageRecord[] = [];
      const scanner = new TranscriptScanner({
        resume: base.summary,
        onUsage: (r) => usage.push(r),
      });
      for (let offset = cut; offset < bytes.length; offset += 11)
        scanner.push(bytes.subarray(offset, Math.min(offset + 11, bytes.length)));
      const { summary } = scanner.finish();
      expect({ ...summary, costUsd: 0 }).toEqual({ ...whole.summary, costUsd: 0 });
      expect(summary.costUsd).toBeCloseTo(whole.summary.costUsd, 8);
      expect([...base.usage, ...usage]).toEqual(whole.usage);
      cuts += 1;
    }
    expect(cuts).toBeGreaterThan(20);
  });

  it("titles a transcript with its first user message's text, shortened, and keeps an unknown title unknown", () => {
    const lines = [
      JSON.stringify({ type: 'session', version: 3, id: 's1' }),
      JSON.stringify({
        type: 'message',
        id: 'a',
        message: { role: 'user', content: [{ type: 'image', data: 'x' }] },
      }),
      JSON.stringify({
        type: 'message',
        id: 'b',
        message: { role: 'user', content: `  What's   on\nmy calendar ${'x'.repeat(300)}` },
      }),
      JSON.stringify({ type: 'message', id: 'c', message: { role: 'user', content: 'later' } }),
    ];
    const bytes = new TextEncoder().encode(`${lines.join('\n')}\n`);
    const { summary } = scan(bytes, 1 << 20);
    expect(summary.title).toBe(`What's on my calendar ${'x'.repeat(MAX_TITLE_CHARS - 23)}…`);
    expect(summary.title).toHaveLength(MAX_TITLE_CHARS);
    // Resumed from a summary made before titles existed: the first message was before the cut.
    const cut = bytes.indexOf(0x0a, bytes.indexOf(0x0a, bytes.indexOf(0x0a) + 1) + 1) + 1;
    const { title: _title, ...old } = scan(bytes.subarray(0, cut), 1 << 20).summary;
    const resumed = new TranscriptScanner({ resume: old });
    resumed.push(bytes.subarray(cut));
    expect(resumed.finish().summary.title).toBeUndefined();
  });

  it('names the line of the whole transcript when the bytes after a resume are wrong', () => {
    const base = scan(`${HEADER}\n{"type":"custom"}\n`).summary;
    const scanner = new TranscriptScanner({ resume: base });
    expect(() => {
      scanner.push(new TextEncoder().encode('{"type":"custom"}\nnot json\n'));
      scanner.finish();
    }).toThrow(/^Line 4: not valid JSON/);
  });

  it('keeps delivery-mirror copies out of models and cost but counts them as messages', () => {
    const built = buildTranscript({ sessionId: 's1', turns: 4, mirrors: true });
    const { summary } = scan(built.text);
    expect(summary.models).toEqual(['claude-sonnet-4-5']);
    expect(summary.providers).toEqual(['anthropic']);
    expect(summary.messagesByRole['assistant']).toBe(8);
    expect(summary.costUsd).toBeCloseTo(built.expected.costUsd, 9);
  });

  it('reads the example transcript of OPENCLAW.md exactly', () => {
    const text = [
      '{"type":"session","version":3,"id":"7c1e2a4b-5d6f-4a8b-9c0d-1e2f3a4b5c6d","timestamp":"2026-02-03T09:14:02.118Z","cwd":"/home/ana/.openclaw/workspace"}',
      '{"type":"model_change","id":"a1b2c3d4","parentId":null,"timestamp":"2026-02-03T09:14:02.120Z","provider":"anthropic","modelId":"claude-sonnet-4-5"}',
      '{"type":"message","id":"e5f6a7b8","parentId":"a1b2c3d4","timestamp":"2026-02-03T09:14:05.882Z","message":{"role":"assistant","content":[{"type":"toolCall","id":"toolu_01","name":"exec","arguments":{}}],"provider":"anthropic","model":"claude-sonnet-4-5","usage":{"input":3,"output":61,"cacheRead":11840,"cacheWrite":2210,"totalTokens":14114,"cost":{"total":0.0127635}},"stopReason":"toolUse","timestamp":1770110042140}}',
      '{"type":"message","id":"a7b8c9d0","parentId":"e5f6a7b8","timestamp":"2026-02-03T09:14:08.977Z","message":{"role":"assistant","content":[{"type":"text","text":"Dentist at 11:00."}],"provider":"anthropic","model":"claude-sonnet-4-5","usage":{"input":3,"output":12,"cacheRead":14050,"cacheWrite":120,"totalTokens":14185,"cost":{"total":0.004854}},"stopReason":"error","timestamp":1770110046420}}',
    ].join('\n');
    const { summary, usage } = scan(text);
    expect(summary).toMatchObject({
      sessionId: '7c1e2a4b-5d6f-4a8b-9c0d-1e2f3a4b5c6d',
      headerVersion: 3,
      firstTimestamp: '2026-02-03T09:14:02.118Z',
      lastTimestamp: '2026-02-03T09:14:08.977Z',
      tokens: { input: 6, output: 73, cacheRead: 25890, cacheWrite: 2330, total: 28299 },
      costUsd: 0.0176175,
      errorStops: 1,
      abortedStops: 0,
      toolCalls: { exec: 1 },
    });
    expect(usage.map((u) => [u.entryId, u.day])).toEqual([
      ['e5f6a7b8', '2026-02-03'],
      ['a7b8c9d0', '2026-02-03'],
    ]);
  });

  it('keeps unknown entry types and counts them', () => {
    const text = `${HEADER}\n{"type":"hologram","id":"x1","parentId":null,"timestamp":"2026-02-03T10:00:00Z","data":[1,2]}\n`;
    expect(scan(text).summary.entriesByType).toEqual({ hologram: 1 });
  });

  it('accepts a last line without newline, blank lines, CRLF endings and header versions 2 and 4', () => {
    for (const version of [2, 4]) {
      const text = `{"type":"session","version":${version},"id":"s1"}\r\n\r\n{"type":"label","id":"a","parentId":null,"timestamp":"2026-02-03T10:00:00Z"}`;
      const { summary } = scan(text);
      expect(summary.headerVersion).toBe(version);
      expect(summary.entriesByType).toEqual({ label: 1 });
    }
  });

  it.each([
    ['an empty body', '', 'empty_transcript', undefined],
    ['only blank lines', '\n\n  \n', 'empty_transcript', undefined],
    ['a first line that is not a header', '{"type":"message","id":"a"}\n', 'missing_header', 1],
    ['a header without id', '{"type":"session","version":3}\n', 'missing_header', 1],
    ['malformed JSON', `${HEADER}\n{"type":"message",\n`, 'invalid_json', 2],
    ['a JSON array line', `${HEADER}\n[1,2]\n`, 'invalid_entry', 2],
    ['a JSON string line', `${HEADER}\n"text"\n`, 'invalid_entry', 2],
    ['a truncated last line', `${HEADER}\n{"type":"mess`, 'invalid_json', 2],
  ])('rejects %s with %s', (_label, text, code, line) => {
    const error = scanError(text);
    expect(error.code).toBe(code);
    expect(error.line).toBe(line);
    expect(error.message.length).toBeGreaterThan(30);
  });

  it('rejects bytes that are not UTF-8, naming the line', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${HEADER}\n{"type":"x","t":"`),
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from('"}\n'),
    ]);
    const error = scanError(bytes);
    expect(error.code).toBe('invalid_utf8');
    expect(error.line).toBe(2);
  });

  it('rejects binary content', () => {
    const png = Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
    ]);
    expect(['invalid_utf8', 'invalid_json']).toContain(scanError(png).code);
  });

  it('bounds the memory of one line', () => {
    const text = `${HEADER}\n{"type":"x","blob":"${'a'.repeat(5000)}"}\n`;
    expect(scanError(text, 1000).code).toBe('line_too_long');
    expect(scan(text, 100, 10_000).summary.lines).toBe(2);
  });

  it('puts each message on its own UTC day, also when days alternate', () => {
    const message = (id: string, timestamp: string | number) =>
      JSON.stringify({
        type: 'message',
        id,
        timestamp,
        message: { role: 'assistant', provider: 'p', model: 'm', usage: { input: 1 } },
      });
    const text = [
      HEADER,
      message('a', '2026-02-03T23:59:59.999Z'),
      message('b', '2026-02-04T00:00:00.000Z'),
      message('c', '2026-02-03T00:00:00.000Z'),
      message('d', Date.parse('2026-02-04T12:00:00.000Z')),
      message('e', '1969-12-31T23:00:00.000Z'),
    ].join('\n');
    expect(scan(text, 1 << 20).usage.map((u) => `${u.entryId} ${u.day}`)).toEqual([
      'a 2026-02-03',
      'b 2026-02-04',
      'c 2026-02-03',
      'd 2026-02-04',
      'e 1969-12-31',
    ]);
  });

  it.each([
    '2026-02-03T09:14:02.118Z',
    '2024-02-29T23:59:59.999Z',
    '2026-02-29T10:00:00.000Z',
    '2026-13-01T10:00:00.000Z',
    '2026-02-03T24:00:00.000Z',
    '2026-02-03T09:60:00.000Z',
    '2026-02-03T09:14:60.000Z',
    '2026-02-03T09:1a:02.118Z',
    '2026-02-03T-9:14:02.118Z',
    '2026-02-03T09:14:02.1x8Z',
    '2026/02/03T09:14:02.118Z',
    '+02026-02-03T09:14:02.1Z',
    '2026-02-03T09:14:02.118+',
    '2026-02-03T09:14:02.118',
    '2026-02-03T09:14:02Z',
    '2026-02-03T11:14:02.118+02:00',
    '0000-01-01T00:00:00.000Z',
  ])('reads the timestamp %s as Date.parse does', (timestamp) => {
    // Each is read after a message on another day, so no day is remembered from the line before.
    const entry = (id: string, at: string) =>
      JSON.stringify({ type: 'x', id, timestamp: at, message: {} });
    const early = '1999-01-01T00:00:00.000Z';
    const text = [
      '{"type":"session","version":3,"id":"s1"}',
      entry('a', early),
      entry('b', timestamp),
    ].join('\n');
    const ms = Date.parse(timestamp);
    expect(scan(text, 1 << 20).summary.lastTimestamp).toBe(
      Number.isNaN(ms) || ms < Date.parse(early) ? early : new Date(ms).toISOString(),
    );
  });

  it('ignores timestamps that are not times instead of failing', () => {
    const text = `${HEADER}\n{"type":"x","id":"a","timestamp":"yesterday"}\n{"type":"x","id":"b","timestamp":1e300}\n`;
    expect(scan(text).summary.lastTimestamp).toBe('2026-02-03T09:14:02.118Z');
  });
});

import { describe, expect, it } from 'vitest';
import { summarizeSession, type Generation } from './session.ts';
import { TranscriptScanner } from './transcript/scanner.ts';
import type { UsageRecord } from './transcript/summary.ts';
import { combineUsage } from './transcript/usage.ts';
import { buildTranscript } from './testing/index.ts';

function generation(
  text: string,
  sha256: string,
  receivedAt: string,
  extra: Partial<Generation> = {},
) {
  const usage: UsageRecord[] = [];
  const scanner = new TranscriptScanner({ onUsage: (record) => usage.push(record) });
  scanner.push(new TextEncoder().encode(text));
  const { summary } = scanner.finish();
  const g: Generation = {
    hostId: 'laptop',
    agentId: 'main',
    sessionId: 's1',
    sha256,
    kind: 'live',
    fileName: 's1.jsonl',
    receivedAt,
    summary,
    ...extra,
  };
  return { g, usage };
}

describe('summarizeSession', () => {
  it('counts usage once when a snapshot and its longer archive overlap', () => {
    const full = buildTranscript({ sessionId: 's1', turns: 10 });
    const half = full.text.split('\n').slice(0, 12).join('\n');
    const a = generation(half, 'a'.repeat(64), '2026-02-03T10:00:00Z');
    const b = generation(full.text, 'b'.repeat(64), '2026-02-03T11:00:00Z', { kind: 'reset' });
    const session = summarizeSession([a.g, b.g], combineUsage([a.usage, b.usage]));
    expect(session.generations).toBe(2);
    expect(session.costUsd).toBeCloseTo(full.expected.costUsd, 9);
    expect(session.tokens.output).toBe(full.expected.output);
    expect(session.latestSha256).toBe('b'.repeat(64));
    expect(session.kinds).toEqual(['live', 'reset']);
    expect(session.storedBytes).toBe(a.g.summary.bytes + b.g.summary.bytes);
  });

  it('orders by the last entry, falling back to the time received', () => {
    const noTimes = generation(
      '{"type":"session","id":"s1"}\n',
      'c'.repeat(64),
      '2026-03-01T00:00:00.000Z',
    );
    expect(summarizeSession([noTimes.g], combineUsage([noTimes.usage])).activityAt).toBe(
      '2026-03-01T00:00:00.000Z',
    );
  });

  it('lets later context sharpen earlier context field by field', () => {
    const text = buildTranscript({ sessionId: 's1', turns: 1 }).text;
    const a = generation(text, 'a'.repeat(64), '2026-02-03T10:00:00Z', {
      context: { sessionKey: 'agent:main:main', status: 'running' },
    });
    const b = generation(text, 'b'.repeat(64), '2026-02-03T11:00:00Z', {
      context: { status: 'done' },
    });
    expect(summarizeSession([b.g, a.g], combineUsage([a.usage, b.usage])).context).toEqual({
      sessionKey: 'agent:main:main',
      status: 'done',
    });
  });
});

import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { OpenClawDatabase } from '../testing/openclaw-database.ts';
import { AgentDatabase, DatabaseSchemaError } from './agent-database.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function fixture(options?: ConstructorParameters<typeof OpenClawDatabase>[1]) {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-agentdb-'));
  const path = join(dir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite');
  const writer = new OpenClawDatabase(path, options);
  opened.push(writer);
  return { dir, path, writer };
}

function lines(sessionId: string, turns: number): string[] {
  return buildTranscript({
    sessionId,
    turns,
    toolEvery: 1,
    toolResultChars: 3000,
    idPrefix: sessionId.slice(0, 3),
  })
    .text.trimEnd()
    .split('\n');
}

describe('AgentDatabase', () => {
  it('rebuilds a transcript byte for byte from plain and zstd rows, as the delete archive holds it', async () => {
    const { dir, path, writer } = await fixture();
    writer.append('s-plain', lines('s-plain', 5), { createdAt: T0, zstdOver: 1000 });
    const reader = AgentDatabase.open(path, { allowUnknownSchema: false });
    opened.push(reader);
    const out = join(dir, 'out.jsonl');
    const result = await reader.writeTranscript('s-plain', out);
    const expected = writer.transcript('s-plain');
    expect(await readFile(out, 'utf8')).toBe(expected);
    expect(expected).toContain('x'.repeat(3000));
    expect(result).toEqual({
      bytes: Buffer.byteLength(expected),
      lastSeq: lines('s-plain', 5).length - 1,
      eventCount: lines('s-plain', 5).length,
    });
    const zstdRows = writer.db
      .prepare(
        "SELECT COUNT(*) AS n FROM transcript_events WHERE event_json = '' AND event_zstd IS NOT NULL",
      )
      .get() as { n: number };
    expect(zstdRows.n).toBeGreaterThan(0);
  });

  it('lists sessions with their change marker, rollover, status and context', async () => {
    const { path, writer } = await fixture();
    writer.append('old', lines('old', 2), { createdAt: T0 });
    writer.append('new', lines('new', 1), { createdAt: T0 + 5000 });
    writer.append('busy', lines('busy', 1), { createdAt: T0 });
    writer.window({ sessionId: 'old', sessionKey: 'agent:main:main', status: 'done', endedAt: T0 });
    writer.window({
      sessionId: 'new',
      sessionKey: 'agent:main:main',
      previousSessionId: 'old',
      status: 'done',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      channel: 'telegram',
      chatType: 'direct',
    });
    writer.window({ sessionId: 'busy', status: 'running' });
    const reader = AgentDatabase.open(path, { allowUnknownSchema: false });
    opened.push(reader);
    const sessions = Object.fromEntries(reader.listSessions().map((s) => [s.sessionId, s]));
    expect(sessions['old']).toMatchObject({
      superseded: true,
      status: 'done',
      eventCount: lines('old', 2).length,
      lastSeq: lines('old', 2).length - 1,
      lastActivityMs: T0,
    });
    expect(sessions['new']).toMatchObject({
      superseded: false,
      context: {
        sessionKey: 'agent:main:main',
        previousSessionId: 'old',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        channel: 'telegram',
        chatType: 'direct',
        status: 'done',
      },
    });
    expect(sessions['busy']).toMatchObject({ superseded: false, status: 'running' });
  });

  it.each<[string, ConstructorParameters<typeof OpenClawDatabase>[1], RegExp]>([
    [
      'an unknown schema version',
      { schemaVersion: 99 },
      /schema version 99 is not one this worker knows \(23\)/,
    ],
    ['no schema version', { schemaVersion: null }, /schema version \(none found\)/],
    [
      'a missing column',
      { omitColumn: 'previous_session_id' },
      /table session_windows has no column previous_session_id/,
    ],
    [
      'a missing event column',
      { omitColumn: 'event_zstd' },
      /table transcript_events has no column event_zstd/,
    ],
  ])('refuses %s with a message naming what is wrong', async (_label, options, message) => {
    const { path } = await fixture(options);
    const open = () => AgentDatabase.open(path, { allowUnknownSchema: false });
    expect(open).toThrow(DatabaseSchemaError);
    expect(open).toThrow(message);
  });

  it('reads an unknown schema version when allowed, if the columns are there', async () => {
    const { path, writer } = await fixture({ schemaVersion: 24 });
    writer.append('s', lines('s', 1));
    const reader = AgentDatabase.open(path, { allowUnknownSchema: true });
    opened.push(reader);
    expect(reader.schemaVersion).toBe(24);
    expect(reader.listSessions()).toHaveLength(1);
  });

  it('neither fails nor blocks a writer appending while it reads', async () => {
    const { dir, path, writer } = await fixture();
    writer.append('big', lines('big', 400), { zstdOver: 2000 });
    const reader = AgentDatabase.open(path, { allowUnknownSchema: false });
    opened.push(reader);
    let appended = 0;
    let writerErrors = 0;
    const reads: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round += 1) {
      reads.push(reader.writeTranscript('big', join(dir, `snapshot-${round}.jsonl`)));
      try {
        // busy_timeout is 0 on the writer: any lock the reader held would fail this at once.
        writer.append('big', [
          JSON.stringify({
            type: 'custom',
            id: `w${round}`,
            parentId: null,
            timestamp: new Date().toISOString(),
          }),
        ]);
        writer.append('other', [JSON.stringify({ type: 'custom', id: `o${round}` })]);
        appended += 2;
      } catch {
        writerErrors += 1;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = (await Promise.all(reads)) as { eventCount: number }[];
    expect(writerErrors).toBe(0);
    expect(appended).toBe(40);
    // Every snapshot is whole and consistent: its line count is what it says it read.
    for (const [round, result] of results.entries()) {
      const text = await readFile(join(dir, `snapshot-${round}.jsonl`), 'utf8');
      expect(text.split('\n').length - 1).toBe(result.eventCount);
    }
  });
});

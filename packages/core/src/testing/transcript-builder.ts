/**
 * Builds OpenClaw transcripts shaped like real ones (OPENCLAW.md, "Transcript format"): a
 * session header, a model change, then user / assistant / tool-result turns with usage and cost,
 * optionally a compaction and delivery-mirror copies. For tests and benchmarks only.
 */
export interface TranscriptSpec {
  readonly sessionId: string;
  /** Number of user → assistant exchanges. */
  readonly turns: number;
  /** Time of the header, ms since the epoch. */
  readonly startMs?: number;
  readonly provider?: string;
  readonly model?: string;
  /** Every n-th exchange goes through a tool call and a tool result. */
  readonly toolEvery?: number;
  /** Characters of filler in each tool result, to reach a target size. */
  readonly toolResultChars?: number;
  /** Adds an OpenClaw delivery-mirror copy after each assistant reply (zero usage). */
  readonly mirrors?: boolean;
  /** Adds a compaction entry half-way. */
  readonly compaction?: boolean;
  /** Prefix of entry ids, so two transcripts can share or not share entries. */
  readonly idPrefix?: string;
  /** Leaves the final newline off, as a file being written can. */
  readonly noFinalNewline?: boolean;
}

/** Cost per token, USD, loosely like a mid-size model. */
const PRICE = { input: 0.000003, output: 0.000015, cacheRead: 0.0000003, cacheWrite: 0.00000375 };

export interface BuiltTranscript {
  readonly text: string;
  /** Sum of assistant usage that counts (mirrors excluded). */
  readonly expected: {
    readonly assistantMessages: number;
    readonly input: number;
    readonly output: number;
    readonly cacheRead: number;
    readonly cacheWrite: number;
    readonly costUsd: number;
    readonly toolCalls: number;
    readonly lines: number;
  };
}

export function buildTranscript(spec: TranscriptSpec): BuiltTranscript {
  const start = spec.startMs ?? Date.parse('2026-02-03T09:14:02.118Z');
  const provider = spec.provider ?? 'anthropic';
  const model = spec.model ?? 'claude-sonnet-4-5';
  const prefix = spec.idPrefix ?? 'e';
  const lines: string[] = [];
  let clock = start;
  let entry = 0;
  let parent: string | null = null;
  const expected = {
    assistantMessages: 0,
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    costUsd: 0,
    toolCalls: 0,
    lines: 0,
  };
  const iso = () => new Date(clock).toISOString();
  const push = (body: Record<string, unknown>) => {
    const id = `${prefix}${(entry++).toString(16).padStart(7, '0')}`;
    lines.push(JSON.stringify({ ...body, id, parentId: parent, timestamp: iso() }));
    parent = id;
    clock += 1500;
  };
  const assistant = (content: unknown[], stopReason: string, turn: number) => {
    const usage = {
      input: 3 + turn,
      output: 40 + (turn % 50),
      cacheRead: 11_000 + turn * 10,
      cacheWrite: 200 + (turn % 7),
    };
    const cost = {
      input: usage.input * PRICE.input,
      output: usage.output * PRICE.output,
      cacheRead: usage.cacheRead * PRICE.cacheRead,
      cacheWrite: usage.cacheWrite * PRICE.cacheWrite,
    };
    const total = cost.input + cost.output + cost.cacheRead + cost.cacheWrite;
    const totalTokens = usage.input + usage.output + usage.cacheRead + usage.cacheWrite;
    push({
      type: 'message',
      message: {
        role: 'assistant',
        content,
        api: 'anthropic-messages',
        provider,
        model,
        usage: { ...usage, totalTokens, cost: { ...cost, total } },
        stopReason,
        timestamp: clock,
      },
    });
    expected.assistantMessages += 1;
    expected.input += usage.input;
    expected.output += usage.output;
    expected.cacheRead += usage.cacheRead;
    expected.cacheWrite += usage.cacheWrite;
    expected.costUsd += total;
  };

  lines.push(
    JSON.stringify({
      type: 'session',
      version: 3,
      id: spec.sessionId,
      timestamp: iso(),
      cwd: '/home/ana/.openclaw/workspace',
    }),
  );
  push({ type: 'model_change', provider, modelId: model });
  const filler = 'x'.repeat(spec.toolResultChars ?? 40);
  for (let turn = 0; turn < spec.turns; turn += 1) {
    push({
      type: 'message',
      message: {
        role: 'user',
        content: [{ type: 'text', text: `question ${turn}` }],
        timestamp: clock,
      },
    });
    if (spec.toolEvery !== undefined && turn % spec.toolEvery === 0) {
      const callId = `toolu_${turn}`;
      assistant(
        [
          {
            type: 'toolCall',
            id: callId,
            name: turn % 2 === 0 ? 'exec' : 'read',
            arguments: { command: 'ls' },
          },
        ],
        'toolUse',
        turn,
      );
      expected.toolCalls += 1;
      push({
        type: 'message',
        message: {
          role: 'toolResult',
          toolCallId: callId,
          toolName: 'exec',
          content: [{ type: 'text', text: filler }],
          isError: false,
          timestamp: clock,
        },
      });
    }
    assistant([{ type: 'text', text: `answer ${turn}` }], 'stop', turn);
    if (spec.mirrors) {
      push({
        type: 'message',
        message: {
          role: 'assistant',
          content: [{ type: 'text', text: `answer ${turn}` }],
          provider: 'openclaw',
          model: 'delivery-mirror',
          usage: {
            input: 0,
            output: 0,
            cacheRead: 0,
            cacheWrite: 0,
            totalTokens: 0,
            cost: { total: 0 },
          },
          stopReason: 'stop',
          timestamp: clock,
        },
      });
    }
    if (spec.compaction && turn === Math.floor(spec.turns / 2)) {
      push({
        type: 'compaction',
        summary: 'earlier turns',
        firstKeptEntryId: parent,
        tokensBefore: 50_000,
      });
    }
  }
  expected.lines = lines.length;
  return { text: lines.join('\n') + (spec.noFinalNewline ? '' : '\n'), expected };
}

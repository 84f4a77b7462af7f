import type { UsageFigures } from '@nexus/core';
import type { PageEntry } from '../dashboard/transcript-page.ts';
import {
  contentBlocks,
  isObject,
  messageOf,
  scalar,
  str,
  type Json,
} from '../content/transcript-json.ts';
import type { Turn } from './turns.ts';

/** An image in a message, named by its type and size, never its bytes (`images as references`). */
export interface ImageRef {
  readonly mimeType: string;
  /** Length of its base64 data, in characters. */
  readonly base64Chars: number;
}

export interface ToolCallExport {
  readonly id: string | null;
  readonly name: string;
  readonly arguments: unknown;
  /** The tool's answer, when it follows the call in the transcript. */
  readonly result: {
    readonly isError: boolean;
    readonly text: string;
    readonly images: readonly ImageRef[];
  } | null;
}

/** A message's tokens and cost: the figures of a usage record, without its day and model. */
export type UsageExport = Omit<UsageFigures, 'day' | 'provider' | 'model'>;

/** A message, normalised: what JSON and Markdown exports are made of. */
export interface MessageExport {
  readonly kind: 'message';
  /** 1-based line of the transcript. */
  readonly line: number;
  readonly id: string | null;
  readonly timestamp: string | null;
  readonly role: string;
  readonly provider: string | null;
  readonly model: string | null;
  /** The text blocks, joined by a blank line. */
  readonly text: string;
  /** Thinking blocks, when the export asks for them. */
  readonly thinking?: readonly string[];
  readonly toolCalls: readonly ToolCallExport[];
  readonly images: readonly ImageRef[];
  readonly usage: UsageExport | null;
  /** `error` or `aborted` when the turn failed, with OpenClaw's message. */
  readonly stopReason: string | null;
  readonly error: string | null;
}

/** Anything else in a transcript: its start, a model change, a compaction, a reset, … */
export interface EventExport {
  readonly kind: 'event';
  readonly line: number;
  readonly id: string | null;
  readonly timestamp: string | null;
  /** The entry's `type` (`session`, `model_change`, `compaction`, …), or `unreadable`. */
  readonly event: string;
  /** One line a person reads: "to anthropic/claude-sonnet-4", the compaction's summary, … */
  readonly detail: string;
}

export type EntryExport = MessageExport | EventExport;

const num = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0;

function imageRef(block: Json): ImageRef {
  return {
    mimeType: str(block['mimeType']) ?? str(block['mediaType']) ?? 'image',
    base64Chars: str(block['data'])?.length ?? 0,
  };
}

function textOf(blocks: readonly Json[]): string {
  return blocks
    .filter((block) => block['type'] === 'text')
    .map((block) => str(block['text']) ?? '')
    .join('\n\n');
}

/** One turn as a normalised entry; thinking kept only when asked for. */
export function exportEntry(turn: Turn, options: { thinking: boolean }): EntryExport {
  const { entry } = turn;
  const base = {
    line: entry.index + 1,
    id: str(entry.value?.['id']) ?? null,
    timestamp: str(entry.value?.['timestamp']) ?? null,
  };
  const message = messageOf(entry);
  if (message === undefined) return { kind: 'event', ...base, ...eventOf(entry) };
  const blocks = contentBlocks(message['content']);
  const usage = isObject(message['usage']) ? message['usage'] : undefined;
  const stop = str(message['stopReason']);
  const failed = stop === 'error' || stop === 'aborted';
  return {
    kind: 'message',
    ...base,
    role: str(message['role']) ?? 'unknown',
    provider: str(message['provider']) ?? null,
    model: str(message['model']) ?? null,
    text: textOf(blocks),
    ...(options.thinking
      ? {
          thinking: blocks
            .filter((block) => block['type'] === 'thinking')
            .map((block) => str(block['thinking']) ?? ''),
        }
      : {}),
    toolCalls: blocks
      .filter((block) => block['type'] === 'toolCall')
      .map((block) => toolCallOf(block, turn.results)),
    images: blocks.filter((block) => block['type'] === 'image').map(imageRef),
    usage:
      usage === undefined
        ? null
        : {
            input: num(usage['input']),
            output: num(usage['output']),
            cacheRead: num(usage['cacheRead']),
            cacheWrite: num(usage['cacheWrite']),
            totalTokens: num(usage['totalTokens']),
            costUsd: isObject(usage['cost']) ? num(usage['cost']['total']) : 0,
          },
    stopReason: stop ?? null,
    error: failed ? (str(message['errorMessage']) ?? null) : null,
  };
}

function toolCallOf(block: Json, results: ReadonlyMap<string, PageEntry>): ToolCallExport {
  const id = str(block['id']) ?? null;
  const result = id === null ? undefined : results.get(id);
  const message = result === undefined ? undefined : messageOf(result);
  const blocks = contentBlocks(message?.['content']);
  return {
    id,
    name: str(block['name']) ?? 'tool',
    arguments: block['arguments'] ?? null,
    result:
      message === undefined
        ? null
        : {
            isError: message['isError'] === true,
            text: textOf(blocks),
            images: blocks.filter((b) => b['type'] === 'image').map(imageRef),
          },
  };
}

function eventOf(entry: PageEntry): { event: string; detail: string } {
  const value = entry.value;
  if (value === undefined) return { event: 'unreadable', detail: 'not a JSON object' };
  const type = str(value['type']) ?? '(no type)';
  switch (type) {
    case 'session':
      return {
        event: type,
        detail: `session started (format version ${scalar(value['version'])})`,
      };
    case 'model_change':
      return {
        event: type,
        detail: `model changed to ${str(value['provider']) ?? '?'}/${str(value['modelId']) ?? '?'}`,
      };
    case 'thinking_level_change':
      return {
        event: type,
        detail: `thinking level ${scalar(value['thinkingLevel'] ?? value['level'])}`,
      };
    case 'compaction':
      return { event: type, detail: str(value['summary']) ?? '' };
    case 'reset':
      return {
        event: type,
        detail: `/${str(value['reason']) ?? 'reset'}: the conversation started over`,
      };
    default:
      return { event: type, detail: '' };
  }
}

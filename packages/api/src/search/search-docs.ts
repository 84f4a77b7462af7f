import { contentBlocks, messageOf, str } from '../content/transcript-json.ts';
import { linkableId } from '../dashboard/links.ts';
import type { PageEntry } from '../dashboard/transcript-page.ts';

/** Who wrote a searchable message: the user, the assistant, or a tool (its call or its result). */
export type SearchRole = 'user' | 'assistant' | 'tool';
export const SEARCH_ROLES: readonly SearchRole[] = ['user', 'assistant', 'tool'];

/** One message of a transcript as the index keeps it. */
export interface SearchDoc {
  /** The entry's id (`e-` anchors), else `~<line>` (never an id): unique within a session. */
  readonly entry: string;
  /** 0-based line in the generation it was read from. */
  readonly line: number;
  readonly role: SearchRole;
  /** Milliseconds since the epoch of the entry's timestamp; 0 when it has none. */
  readonly timeMs: number;
  readonly text: string;
}

/** Text of one message indexed at most; the rest is in the transcript, not in search. */
export const MAX_DOC_CHARS = 16 * 1024;

/**
 * The searchable message an entry holds, if any: a user's or assistant's text (thinking is not
 * searched), or, as `tool`, a tool call's name and arguments, or a tool result's text. Pure.
 */
export function searchDocOf(entry: PageEntry): SearchDoc | undefined {
  const message = messageOf(entry);
  if (message === undefined) return undefined;
  const role = message['role'];
  const blocks = contentBlocks(message['content']);
  const texts: string[] = [];
  let searchRole: SearchRole;
  if (role === 'user' || role === 'assistant') {
    searchRole = role;
    for (const block of blocks) if (block['type'] === 'text') pushText(texts, block['text']);
    // An assistant turn that only calls tools is searched as the tool calls it makes.
    if (role === 'assistant' && texts.length === 0) {
      const calls = blocks
        .filter((block) => block['type'] === 'toolCall')
        .map((block) => {
          return `${str(block['name']) ?? ''} ${JSON.stringify(block['arguments'] ?? '')}`;
        });
      texts.push(...calls);
      if (calls.length > 0) searchRole = 'tool';
    }
  } else if (role === 'toolResult') {
    searchRole = 'tool';
    for (const block of blocks) if (block['type'] === 'text') pushText(texts, block['text']);
  } else return undefined;
  const text = texts.join('\n\n').slice(0, MAX_DOC_CHARS);
  if (text.trim() === '') return undefined;
  const id = entry.value?.['id'];
  const timestamp = entry.value?.['timestamp'];
  const timeMs = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  return {
    entry: linkableId(id) ? id : `~${entry.index}`,
    line: entry.index,
    role: searchRole,
    timeMs: Number.isFinite(timeMs) ? timeMs : 0,
    text,
  };
}

function pushText(texts: string[], text: unknown): void {
  if (typeof text === 'string' && text !== '') texts.push(text);
}

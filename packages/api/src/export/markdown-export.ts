import { argumentsSummary, isObject } from '../content/transcript-json.ts';
import {
  exportEntry,
  type ImageRef,
  type MessageExport,
  type ToolCallExport,
} from './exported-entry.ts';
import type { ExportHeader, ExportOptions } from './export-header.ts';
import type { Turn } from './turns.ts';

/**
 * A session as Markdown, a turn at a time: a heading per message (who, when; model, tokens and
 * cost with `details`), tool calls collapsed in `<details>` with their results, thinking only
 * with `thinking`, images named (type and size), never embedded. Messages' own text is Markdown
 * already and is kept as it is (masked); what goes inside HTML tags is escaped.
 */
export async function* markdownExport(
  turns: AsyncIterable<Turn>,
  header: ExportHeader,
  options: ExportOptions,
): AsyncGenerator<string> {
  yield markdownHeader(header);
  for await (const turn of turns) {
    const entry = exportEntry(turn, options);
    if (entry.kind === 'event') {
      if (entry.event === 'compaction')
        yield `<details>\n<summary>Compacted${at(entry.timestamp)}: the summary the model kept</summary>\n\n${entry.detail}\n\n</details>\n\n`;
      else if (entry.detail !== '') yield `*${capitalise(entry.detail)}${at(entry.timestamp)}*\n\n`;
      continue;
    }
    yield messageMarkdown(entry, options);
  }
}

export function markdownHeader(header: ExportHeader): string {
  const facts = headerFacts(header, (text) => `\`${text}\``).map((fact) => `- ${fact}`);
  return `# ${oneLine(header.title ?? `Session ${header.sessionId}`)}\n\n${facts.join('\n')}\n\n`;
}

/** The session's facts above its messages, one line each; `code` marks ids (Markdown: backticks). */
export function headerFacts(header: ExportHeader, code: (text: string) => string): string[] {
  return [
    `Host / agent: ${header.hostId} / ${header.agentId}`,
    `Session: ${code(header.sessionId)}`,
    `Generation: ${code(header.generation.sha256.slice(0, 12))} (${header.generation.kind}, received ${header.generation.receivedAt}), ${header.generation.lines} entries`,
    ...(header.models.length > 0 ? [`Models: ${header.models.join(', ')}`] : []),
    `Tokens: ${header.tokens}, cost: $${header.costUsd.toFixed(4)}`,
    `Exported by Nexus at ${header.exportedAt}; secrets are masked`,
  ];
}

function messageMarkdown(message: MessageExport, options: ExportOptions): string {
  const parts: string[] = [];
  const role =
    message.role === 'user'
      ? 'User'
      : message.role === 'assistant'
        ? 'Assistant'
        : message.role === 'toolResult'
          ? 'Tool result'
          : capitalise(message.role);
  const facts =
    options.details && message.role === 'assistant'
      ? [
          ...(message.model === null
            ? []
            : [`${message.provider === null ? '' : `${message.provider}/`}${message.model}`]),
          ...(message.usage === null
            ? []
            : [`${message.usage.totalTokens} tokens`, `$${message.usage.costUsd.toFixed(4)}`]),
        ]
      : [];
  parts.push(
    `## ${[role, ...(message.timestamp === null ? [] : [message.timestamp]), ...facts].join(' · ')}`,
  );
  for (const thought of message.thinking ?? [])
    parts.push(`<details>\n<summary>Thinking</summary>\n\n${thought}\n\n</details>`);
  if (message.role === 'toolResult') parts.push(fenced(message.text, 'text'));
  else if (message.text !== '') parts.push(message.text);
  for (const image of message.images) parts.push(imageLine(image));
  for (const call of message.toolCalls) parts.push(toolCallMarkdown(call));
  if (message.stopReason === 'error' || message.stopReason === 'aborted')
    parts.push(
      `> ${message.stopReason === 'error' ? 'The turn failed' : 'The turn was aborted'}${message.error === null ? '' : `: ${oneLine(message.error)}`}`,
    );
  return `${parts.join('\n\n')}\n\n`;
}

function toolCallMarkdown(call: ToolCallExport): string {
  const result = call.result;
  const summary = `Tool call: ${call.name}${result?.isError === true ? ' (error)' : ''}${argumentsLine(call.arguments)}`;
  // `undefined` for a value JSON cannot hold.
  const args = (JSON.stringify(call.arguments, null, 2) as string | undefined) ?? 'null';
  const parts = [
    `<details>\n<summary>${escapeHtml(summary)}</summary>`,
    'Arguments:',
    fenced(args, 'json'),
  ];
  if (result === null) parts.push('*(no result in this transcript)*');
  else {
    parts.push(result.isError ? 'Result (error):' : 'Result:', fenced(result.text, 'text'));
    for (const image of result.images) parts.push(imageLine(image));
  }
  parts.push('</details>');
  return parts.join('\n\n');
}

/** The arguments of an object, short, after " · " (nothing for anything else). */
function argumentsLine(args: unknown): string {
  const text = isObject(args) ? argumentsSummary(args, 100) : '';
  return text === '' ? '' : ` · ${text}`;
}

const imageLine = (image: ImageRef): string =>
  `*[image: ${image.mimeType}, ${Math.ceil((image.base64Chars * 3) / 4 / 1024)} KB; in the raw transcript]*`;

/** Text in a code fence longer than any run of backticks inside it, so nothing closes it early. */
export function fenced(text: string, language: string): string {
  let longest = 0;
  for (const run of text.matchAll(/`+/g)) longest = Math.max(longest, run[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text}\n${fence}`;
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const at = (timestamp: string | null): string => (timestamp === null ? '' : ` · ${timestamp}`);

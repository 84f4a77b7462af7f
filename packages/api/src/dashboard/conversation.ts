import { html, raw } from 'hono/html';
import {
  argumentsSummary,
  contentBlocks,
  isObject,
  scalar,
  str,
  type Json,
} from '../content/transcript-json.ts';
import { entryAnchor, linkableId } from './links.ts';
import { renderMarkdown } from './markdown.ts';
import { compact, usd, when, type Html } from './page.ts';
import type { PageEntry } from './transcript-page.ts';

/** Text longer than this is cut in the view (the raw download has it all). */
export const MAX_SHOWN_CHARS = 64 * 1024;
/** Images larger than this (as base64) are named, not shown. */
const MAX_IMAGE_CHARS = 4 * 1024 * 1024;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** The id an entry's element carries, for its permalink (`#e-<id>`, else `#l-<line>`). */
export function anchorOf(entry: PageEntry): string {
  return entryAnchor(entry.value?.['id'], entry.index);
}

/**
 * A page of a transcript as a person reads it: user and assistant messages, thinking collapsed,
 * each tool call with its result (when both are on the page), markers for model changes,
 * compactions, resets, errors and aborts. Everything from the transcript is escaped (by `html`)
 * or rendered by the safe Markdown renderer. Permalinks go to `permalinkBase?entry=<id>`; without
 * one (an exported file) to the entry's anchor.
 */
export function renderConversation(
  entries: readonly PageEntry[],
  permalinkBase: string | undefined,
): Html {
  const results = new Map<string, PageEntry>();
  for (const entry of entries) {
    const message = entry.value?.['message'];
    if (isObject(message) && message['role'] === 'toolResult') {
      const callId = str(message['toolCallId']);
      if (callId !== undefined) results.set(callId, entry);
    }
  }
  const paired = new Set<PageEntry>();
  for (const entry of entries) {
    const message = entry.value?.['message'];
    if (!isObject(message) || message['role'] !== 'assistant' || !Array.isArray(message['content']))
      continue;
    for (const block of message['content']) {
      const result = isObject(block) ? results.get(str(block['id']) ?? '') : undefined;
      if (block && isObject(block) && block['type'] === 'toolCall' && result) paired.add(result);
    }
  }
  return html`<div class="conversation">
    ${entries
      .filter((entry) => !paired.has(entry))
      .map((entry) => renderEntry(entry, results, permalinkBase))}
  </div>`;
}

function renderEntry(
  entry: PageEntry,
  results: ReadonlyMap<string, PageEntry>,
  permalinkBase: string | undefined,
): Html {
  const value = entry.value;
  if (value === undefined)
    return shell(
      entry,
      'marker errored',
      html`<span class="role">Line ${entry.index + 1}</span><span>not a JSON object</span>`,
      html`<pre class="raw">${entry.raw ?? ''}</pre>`,
      permalinkBase,
    );
  const type = str(value['type']) ?? '(no type)';
  const message = value['message'];
  if (type === 'message' && isObject(message))
    return renderMessage(entry, message, results, permalinkBase);
  switch (type) {
    case 'session':
      return shell(
        entry,
        'marker',
        html`<span class="role">Session started</span>${when(str(value['timestamp']))}`,
        html`<span class="muted">version ${scalar(value['version'])}</span>`,
        permalinkBase,
      );
    case 'model_change':
      return shell(
        entry,
        'marker',
        html`<span class="role">Model changed</span>${when(str(value['timestamp']))}`,
        html`to <strong>${str(value['provider']) ?? '?'}/${str(value['modelId']) ?? '?'}</strong>`,
        permalinkBase,
      );
    case 'thinking_level_change':
      return shell(
        entry,
        'marker',
        html`<span class="role">Thinking level</span>${when(str(value['timestamp']))}`,
        html`${scalar(value['thinkingLevel'] ?? value['level'])}`,
        permalinkBase,
      );
    case 'compaction':
      return shell(
        entry,
        'marker',
        html`<span class="role">Compacted</span>${when(str(value['timestamp']))}
          <span
            >${typeof value['tokensBefore'] === 'number' ? `${compact(value['tokensBefore'])} tokens before` : ''}</span
          >`,
        html`<details>
          <summary>Summary the model kept</summary>
          ${textBlock(str(value['summary']) ?? '', true)}
        </details>`,
        permalinkBase,
      );
    case 'reset':
      return shell(
        entry,
        'marker',
        html`<span class="role">Reset</span>${when(str(value['timestamp']))}`,
        html`/${str(value['reason']) ?? 'reset'}: the conversation started over here`,
        permalinkBase,
      );
    default:
      return shell(
        entry,
        'marker',
        html`<span class="role">${type}</span>${when(str(value['timestamp']))}`,
        html`<details>
          <summary>Entry</summary>
          ${jsonBlock(value)}
        </details>`,
        permalinkBase,
      );
  }
}

function renderMessage(
  entry: PageEntry,
  message: Json,
  results: ReadonlyMap<string, PageEntry>,
  permalinkBase: string | undefined,
): Html {
  const role = str(message['role']) ?? 'unknown';
  const timestamp = str(entry.value?.['timestamp']);
  if (role === 'toolResult') {
    return shell(
      entry,
      `tool-result${message['isError'] === true ? ' errored' : ''}`,
      html`<span class="role">Tool result</span
        ><span>${str(message['toolName']) ?? ''}</span>${when(timestamp)}`,
      toolResultBody(message),
      permalinkBase,
    );
  }
  const stop = str(message['stopReason']);
  const failed = stop === 'error' || stop === 'aborted';
  const blocks = contentBlocks(message['content']);
  const body = html`${blocks.map((block) => renderBlock(block, role, results))}
  ${
    failed
      ? html`<p class="error" role="note">
          ${stop === 'error' ? 'The turn failed' : 'The turn was aborted'}${
            str(message['errorMessage']) === undefined
              ? ''
              : html`: ${str(message['errorMessage'])}`
          }
        </p>`
      : ''
  }`;
  return shell(
    entry,
    `${role === 'user' ? 'user' : role === 'assistant' ? 'assistant' : 'other'}${failed ? ' errored' : ''}`,
    html`<span class="role">${role}</span>${when(timestamp)}
      ${role === 'assistant' ? assistantFacts(message, entry) : ''}`,
    body,
    permalinkBase,
  );
}

function assistantFacts(message: Json, entry: PageEntry): Html {
  const usage = isObject(message['usage']) ? message['usage'] : undefined;
  const cost = usage && isObject(usage['cost']) ? usage['cost']['total'] : undefined;
  const tokens = usage?.['totalTokens'];
  return html`<span>${str(message['model']) ?? ''}</span>
    ${typeof tokens === 'number' ? html`<span>${compact(tokens)} tokens</span>` : ''}
    ${typeof cost === 'number' ? html`<span>${usd(cost)}</span>` : ''}
    <span title="Session so far"
      >Σ ${usd(entry.running.costUsd)} · ${compact(entry.running.tokens)} tokens</span
    >`;
}

function renderBlock(block: Json, role: string, results: ReadonlyMap<string, PageEntry>): Html {
  switch (block['type']) {
    case 'text':
      return textBlock(str(block['text']) ?? '', role === 'assistant');
    case 'thinking':
      return html`<details class="thinking">
        <summary>Thinking</summary>
        ${textBlock(str(block['thinking']) ?? '', false)}
      </details>`;
    case 'image':
      return imageBlock(block);
    case 'toolCall':
      return toolCall(block, results.get(str(block['id']) ?? ''));
    default:
      return html`<details>
        <summary>${str(block['type']) ?? 'block'}</summary>
        ${jsonBlock(block)}
      </details>`;
  }
}

function toolCall(block: Json, result: PageEntry | undefined): Html {
  const name = str(block['name']) ?? 'tool';
  const resultMessage = result?.value?.['message'];
  const errored = isObject(resultMessage) && resultMessage['isError'] === true;
  return html`<details
    class="tool${errored ? ' errored' : ''}"
    ${result === undefined ? '' : raw(`id="${anchorOf(result)}"`)}
  >
    <summary>
      <strong>${name}</strong> <code>${argumentsSummary(block['arguments'], 120)}</code>
      ${errored ? html`<span class="badge error">error</span>` : ''}
      ${result === undefined ? html`<span class="muted">(result not on this page)</span>` : ''}
    </summary>
    <p class="muted">Arguments</p>
    ${jsonBlock(block['arguments'])}
    ${
      isObject(resultMessage)
        ? html`<p class="muted">Result</p>
            ${toolResultBody(resultMessage)}`
        : ''
    }
  </details>`;
}

function toolResultBody(message: Json): Html {
  return html`${contentBlocks(message['content']).map((block) =>
    block['type'] === 'image'
      ? imageBlock(block)
      : block['type'] === 'text'
        ? html`<pre class="raw">${shown(str(block['text']) ?? '')}</pre>`
        : jsonBlock(block),
  )}`;
}

function textBlock(text: string, markdown: boolean): Html {
  const cut = text.length > MAX_SHOWN_CHARS;
  const visible = cut ? text.slice(0, MAX_SHOWN_CHARS) : text;
  return html`<div class="text">
    ${markdown && !cut ? raw(renderMarkdown(visible)) : html`<p class="plain">${visible}</p>`}
    ${cut ? truncatedNote(text.length) : ''}
  </div>`;
}

function shown(text: string): Html {
  return text.length > MAX_SHOWN_CHARS
    ? html`${text.slice(0, MAX_SHOWN_CHARS)}${truncatedNote(text.length)}`
    : html`${text}`;
}

function truncatedNote(length: number): Html {
  return html`<p class="truncated">
    Shown: the first ${compact(MAX_SHOWN_CHARS)} of ${compact(length)} characters; the raw download
    has all of it.
  </p>`;
}

function jsonBlock(value: unknown): Html {
  // `undefined` for a value JSON cannot hold (a missing field).
  const text = (JSON.stringify(value, null, 2) as string | undefined) ?? '';
  return html`<pre class="raw">${shown(text)}</pre>`;
}

/** A base64 image from the transcript, small, as a `data:` URL of an image type only. */
function imageBlock(block: Json): Html {
  const data = str(block['data']);
  const type = str(block['mimeType']) ?? str(block['mediaType']) ?? '';
  if (data === undefined || !IMAGE_TYPES.has(type) || !/^[A-Za-z0-9+/=\s]*$/.test(data))
    return html`<p class="muted">[image${type === '' ? '' : ` (${type})`} not shown]</p>`;
  if (data.length > MAX_IMAGE_CHARS)
    return html`<p class="muted">
      [image of ${compact(data.length)} characters: in the raw download]
    </p>`;
  return html`<img
    class="thumb"
    src="data:${type};base64,${data.replace(/\s/g, '')}"
    alt="Image in the message"
    loading="lazy"
  />`;
}

function shell(
  entry: PageEntry,
  kind: string,
  head: Html,
  body: Html,
  permalinkBase: string | undefined,
): Html {
  const anchor = anchorOf(entry);
  const entryId = entry.value?.['id'];
  const permalink =
    permalinkBase !== undefined && linkableId(entryId)
      ? `${permalinkBase}${permalinkBase.includes('?') ? '&' : '?'}entry=${encodeURIComponent(entryId)}#${anchor}`
      : `#${anchor}`;
  return html`<article class="entry ${kind}" id="${anchor}" tabindex="-1">
    <header>
      ${head}<a class="permalink" href="${permalink}" aria-label="Permalink to this entry">#</a>
    </header>
    ${body}
  </article>`;
}

import { describe, expect, it } from 'vitest';
import { SecretMasker, maskOf } from '../content/secret-mask.ts';
import { pageEntries } from '../dashboard/transcript-page.ts';
import type { ExportHeader, ExportOptions } from './export-header.ts';
import { EXPORT_CSP, htmlExport } from './html-export.ts';
import { JSON_EXPORT_FORMAT, jsonExport } from './json-export.ts';
import { fenced, markdownExport } from './markdown-export.ts';
import { turnsOf } from './turns.ts';

const line = (value: unknown) => JSON.stringify(value);
const KEY = `sk-proj-${'Q'.repeat(40)}`;
const TRANSCRIPT = [
  line({ type: 'session', id: 's0', version: 3, timestamp: '2026-12-01T09:59:00Z' }),
  line({ type: 'model_change', id: 'm0', provider: 'anthropic', modelId: 'claude-sonnet-4-5' }),
  line({
    type: 'message',
    id: 'u1',
    timestamp: '2026-12-01T10:00:00Z',
    message: { role: 'user', content: `Use my key ${KEY} to list files <b>now</b>` },
  }),
  line({
    type: 'message',
    id: 'a1',
    timestamp: '2026-12-01T10:00:05Z',
    message: {
      role: 'assistant',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'The user wants a listing.' },
        { type: 'text', text: 'Listing them.' },
        { type: 'toolCall', id: 'c1', name: 'exec', arguments: { command: 'ls ```' } },
        { type: 'image', mimeType: 'image/png', data: 'iVBORw0KGgo='.repeat(100) },
      ],
      usage: { input: 100, output: 20, totalTokens: 120, cost: { total: 0.0123 } },
      stopReason: 'toolUse',
    },
  }),
  line({
    type: 'message',
    id: 'r1',
    message: { role: 'toolResult', toolCallId: 'c1', toolName: 'exec', content: 'a.txt\nb.txt' },
  }),
  line({
    type: 'message',
    id: 'a2',
    timestamp: '2026-12-01T10:00:09Z',
    message: {
      role: 'assistant',
      content: [{ type: 'text', text: 'Two files: a.txt and b.txt.' }],
      usage: { totalTokens: 30, cost: { total: 0.001 } },
      stopReason: 'error',
      errorMessage: 'rate limited',
    },
  }),
  'not json at all',
].join('\n');

const HEADER: ExportHeader = {
  hostId: 'laptop',
  agentId: 'main',
  sessionId: 'sess-1',
  title: 'Use my key [masked openai-key] to list files',
  generation: {
    sha256: 'a'.repeat(64),
    kind: 'live',
    receivedAt: '2026-12-01T10:01:00Z',
    lines: 7,
  },
  models: ['claude-sonnet-4-5'],
  tokens: 150,
  costUsd: 0.0133,
  exportedAt: '2026-12-02T00:00:00.000Z',
};

/** The transcript in small chunks, so lines cross chunk boundaries. */
function chunks(text: string, size = 13): AsyncIterable<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return ReadableStream.from(parts);
}

async function collect(pieces: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const piece of pieces) out += piece;
  return out;
}

const turns = () => turnsOf(pageEntries(chunks(`${TRANSCRIPT}\n`), 2), new SecretMasker());
const OPTIONS: ExportOptions = { thinking: false, details: true };

describe('a session exported as Markdown', () => {
  it('has a heading per message, the tool call collapsed with its result, images named', async () => {
    const md = await collect(markdownExport(turns(), HEADER, OPTIONS));
    expect(md).toMatch(/^# Use my key \[masked openai-key\] to list files\n/);
    expect(md).toContain('## User · 2026-12-01T10:00:00Z');
    expect(md).toContain(
      '## Assistant · 2026-12-01T10:00:05Z · anthropic/claude-sonnet-4-5 · 120 tokens · $0.0123',
    );
    expect(md).toContain('<summary>Tool call: exec · command: ls ```</summary>');
    // The result is inside the call's <details>, not a turn of its own.
    expect(md).not.toContain('## Tool result');
    const details = md.slice(md.indexOf('<details>'), md.indexOf('</details>'));
    expect(details).toContain('Result:\n\n```text\na.txt\nb.txt\n```');
    // A fence longer than the backticks inside the arguments.
    expect(details).toContain('````json\n{\n  "command": "ls ```"\n}\n````');
    expect(md).toContain('*[image: image/png, 1 KB; in the raw transcript]*');
    expect(md).toContain('> The turn failed: rate limited');
    expect(md).toContain('*Model changed to anthropic/claude-sonnet-4-5*');
  });

  it('masks secrets and leaves thinking out unless asked', async () => {
    const md = await collect(markdownExport(turns(), HEADER, OPTIONS));
    expect(md).not.toContain(KEY);
    expect(md).toContain(`Use my key ${maskOf('openai-key')} to list files`);
    expect(md).not.toContain('The user wants a listing.');
    const withThinking = await collect(
      markdownExport(turns(), HEADER, { thinking: true, details: false }),
    );
    expect(withThinking).toContain('<summary>Thinking</summary>\n\nThe user wants a listing.');
    expect(withThinking).toContain('## Assistant · 2026-12-01T10:00:05Z\n');
  });

  it('keeps a fence closed whatever backticks the text holds', () => {
    expect(fenced('plain', 'text')).toBe('```text\nplain\n```');
    expect(fenced('a ````` b', '')).toBe('``````\na ````` b\n``````');
  });
});

describe('a session exported as JSON', () => {
  it('is one valid document: header, normalised entries, totals', async () => {
    const doc = JSON.parse(await collect(jsonExport(turns(), HEADER, OPTIONS))) as {
      format: string;
      session: ExportHeader;
      entries: Record<string, unknown>[];
      totals: Record<string, number>;
    };
    expect(doc.format).toBe(JSON_EXPORT_FORMAT);
    expect(doc.session).toEqual(HEADER);
    expect(doc.entries.map((e) => [e['kind'], e['line']])).toEqual([
      ['event', 1],
      ['event', 2],
      ['message', 3],
      ['message', 4],
      ['message', 6],
      ['event', 7],
    ]);
    const call = doc.entries[3];
    expect(call).toMatchObject({
      role: 'assistant',
      text: 'Listing them.',
      model: 'claude-sonnet-4-5',
      toolCalls: [
        {
          id: 'c1',
          name: 'exec',
          arguments: { command: 'ls ```' },
          result: { isError: false, text: 'a.txt\nb.txt', images: [] },
        },
      ],
      images: [{ mimeType: 'image/png', base64Chars: 1200 }],
      usage: { input: 100, output: 20, totalTokens: 120, costUsd: 0.0123 },
    });
    expect(call).not.toHaveProperty('thinking');
    expect(doc.entries[2]?.['text']).toBe(
      `Use my key ${maskOf('openai-key')} to list files <b>now</b>`,
    );
    expect(doc.entries[5]).toMatchObject({ event: 'unreadable' });
    expect(doc.totals).toEqual({ messages: 3, toolCalls: 1, tokens: 150, costUsd: 0.0133 });
  });
});

describe('a session exported as HTML', () => {
  it('is a self-contained page without script, its text escaped and masked', async () => {
    const page = await collect(htmlExport(turns(), HEADER));
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain(
      `http-equiv="Content-Security-Policy" content="${EXPORT_CSP.replace(/'/g, '&#39;')}"`,
    );
    expect(page).not.toMatch(/<script|<link|src="http/);
    expect(page).toContain('&lt;b&gt;now&lt;/b&gt;');
    expect(page).not.toContain(KEY);
    expect(page).toContain('[masked openai-key]');
    // Links between entries stay inside the file.
    expect(page).not.toContain('?entry=');
    expect(page.trimEnd().endsWith('</main></body></html>')).toBe(true);
  });
});

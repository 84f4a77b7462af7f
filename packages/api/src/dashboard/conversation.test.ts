import { describe, expect, it } from 'vitest';
import { renderConversation, MAX_SHOWN_CHARS } from './conversation.ts';
import { renderMarkdown } from './markdown.ts';
import {
  CheckpointCache,
  lineBatchesOf,
  readTranscriptPage,
  type Checkpoint,
} from './transcript-page.ts';

const bytesOf = (text: string, chunk = 7): AsyncIterable<Uint8Array> => {
  const all = new TextEncoder().encode(text);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += chunk) parts.push(all.subarray(i, i + chunk));
  return ReadableStream.from(parts);
};

const line = (value: unknown) => JSON.stringify(value);
const assistant = (id: string, content: unknown[], extra: Record<string, unknown> = {}) =>
  line({
    type: 'message',
    id,
    timestamp: '2026-12-01T10:00:00Z',
    message: {
      role: 'assistant',
      content,
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: { input: 10, output: 5, totalTokens: 15, cost: { total: 0.5 } },
      stopReason: 'stop',
      ...extra,
    },
  });

const toolResult = (id: string, toolCallId: string, extra: Record<string, unknown>) =>
  line({ type: 'message', id, message: { role: 'toolResult', toolCallId, ...extra } });

async function render(lines: string[], options = {}): Promise<string> {
  const page = await readTranscriptPage(bytesOf(`${lines.join('\n')}\n`), options);
  return String(await renderConversation(page.entries, '/s'));
}

describe('a transcript as HTML', () => {
  it('keeps hostile text inert: every tag, handler and script link is escaped or dropped', async () => {
    const html = await render([
      line({ type: 'session', id: 's', version: 3 }),
      line({
        type: 'message',
        id: 'u1',
        message: { role: 'user', content: '<script>alert(1)</script><img src=x onerror=alert(2)>' },
      }),
      assistant('a1', [
        {
          type: 'text',
          text: 'see [x](javascript:alert(3)) <a href="javascript:alert(4)">y</a> <iframe src=//e.com></iframe> ![i](https://tracker.example/p.png)',
        },
        {
          type: 'toolCall',
          id: 't1',
          name: '"><svg onload=alert(5)>',
          arguments: { c: '</pre><script>alert(6)</script>' },
        },
      ]),
      toolResult('r1', 't1', { content: [{ type: 'text', text: '<style>*{}</style>' }] }),
      line({
        type: 'message',
        id: 'u2',
        message: {
          role: 'user',
          content: [{ type: 'image', data: 'PHN2Zz4=', mimeType: 'image/svg+xml' }],
        },
      }),
      line({ type: '<b>odd</b>', id: 'x1' }),
      'not json <script>alert(7)</script>',
    ]);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img[^>]*onerror/i);
    expect(html).not.toMatch(/<svg[^>]*onload/i);
    expect(html).not.toMatch(/href="javascript:/i);
    expect(html).not.toMatch(/<iframe|<style|<b>/i);
    expect(html).not.toMatch(/<img[^>]*tracker/); // a Markdown image is a link, never loaded
    expect(html).not.toContain('data:image/svg+xml');
    // Shown as text, escaped:
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;odd&lt;/b&gt;');
  });

  it('pairs a tool call with its result and marks errors, thinking collapsed', async () => {
    const html = await render([
      assistant('a1', [
        { type: 'thinking', thinking: 'ponder' },
        { type: 'toolCall', id: 't1', name: 'exec', arguments: { command: 'ls' } },
      ]),
      toolResult('r1', 't1', { toolName: 'exec', isError: true, content: 'boom' }),
    ]);
    expect(html).toMatch(/<details class="thinking">\s*<summary>Thinking<\/summary>/);
    expect(html).toMatch(/<details\s+class="tool errored"\s+id="e-r1"/);
    expect(html).toContain('boom');
    // The result is inside the call, not an entry of its own.
    expect(html.match(/<article/g)).toHaveLength(1);
  });

  it('shows a result whose call is on another page on its own', async () => {
    const html = await render([toolResult('r9', 'gone', { content: 'late' })]);
    expect(html).toMatch(/<article class="entry tool-result" id="e-r9"/);
  });

  it('cuts a huge line and says where the rest is', async () => {
    const html = await render([
      assistant('a1', [{ type: 'text', text: 'A'.repeat(MAX_SHOWN_CHARS * 3) }]),
    ]);
    expect(html.length).toBeLessThan(MAX_SHOWN_CHARS + 20_000);
    expect(html).toContain('raw download');
  });

  it('marks aborted and failed turns, model changes and compactions', async () => {
    const html = await render([
      line({ type: 'model_change', id: 'm', provider: 'openai', modelId: 'gpt-5' }),
      line({ type: 'compaction', id: 'c', summary: 'kept this', tokensBefore: 48000 }),
      assistant('a1', [{ type: 'text', text: 'x' }], { stopReason: 'aborted' }),
      assistant('a2', [], { stopReason: 'error', errorMessage: 'rate limited' }),
    ]);
    expect(html).toContain('openai/gpt-5');
    expect(html).toContain('kept this');
    expect(html).toContain('48 k tokens before');
    expect(html).toContain('The turn was aborted');
    expect(html).toContain('The turn failed: rate limited');
  });
});

describe('a page of a transcript', () => {
  const many = Array.from({ length: 250 }, (_, i) =>
    assistant(`a${i}`, [{ type: 'text', text: `n${i}` }]),
  );

  it('reads one page and stops, with running totals from the lines before', async () => {
    const page = await readTranscriptPage(bytesOf(`${many.join('\n')}\n`, 1000), {
      start: 100,
      limit: 100,
    });
    expect(page.start).toBe(100);
    expect(page.entries.map((e) => e.index)).toEqual(
      Array.from({ length: 100 }, (_, i) => 100 + i),
    );
    expect(page.more).toBe(true);
    expect(page.entries[0]?.running).toEqual({ costUsd: 50.5, tokens: 101 * 15 });
  });

  it('finds the page of a permalinked entry', async () => {
    const page = await readTranscriptPage(bytesOf(`${many.join('\n')}\n`, 333), {
      entryId: 'a217',
      limit: 100,
    });
    expect(page.start).toBe(200);
    expect(page.entries.some((e) => e.value?.['id'] === 'a217')).toBe(true);
    expect(page.entries[17]?.running.tokens).toBe(218 * 15);
    expect(page.more).toBe(false);
  });

  it('counts usage the same whether a line is read whole or only its usage', async () => {
    const mixed = [
      assistant('a0', [
        { type: 'toolCall', id: 't', name: 'x', arguments: { usage: { totalTokens: 999 } } },
      ]),
      line({ type: 'custom', id: 'c0', data: { role: 'assistant', usage: { totalTokens: 1000 } } }),
      line({
        id: 'k0',
        type: 'message',
        message: { role: 'assistant', usage: { totalTokens: 7, cost: { total: 1 } } },
      }),
      line({
        type: 'message',
        id: 'm0',
        message: {
          role: 'assistant',
          provider: 'openclaw',
          model: 'delivery-mirror',
          usage: { totalTokens: 50 },
        },
      }),
      line({
        type: 'message',
        id: 's0',
        message: {
          role: 'assistant',
          content: [{ type: 'text', text: '"usage":{"totalTokens":5} }}{{' }],
          usage: { totalTokens: 3, cost: { total: 0.25 } },
        },
      }),
      ...many.slice(0, 3),
    ];
    const skipped = await readTranscriptPage(bytesOf(`${mixed.join('\n')}\n`, 11), {
      start: 7,
      limit: 1,
    });
    const whole = await readTranscriptPage(bytesOf(`${mixed.join('\n')}\n`, 11), {
      start: 0,
      limit: 8,
    });
    expect(skipped.entries[0]?.running).toEqual(whole.entries[7]?.running);
    expect(whole.entries[7]?.running).toEqual({
      costUsd: 0.5 + 1 + 0.25 + 1.5,
      tokens: 15 + 7 + 3 + 45,
    });
  });

  it('starts a page from a checkpoint another page left, with the same lines and totals', async () => {
    const text = `${many.join('\n')}\n`;
    const cache = new CheckpointCache();
    const note = (checkpoint: Checkpoint) => {
      cache.note('g', checkpoint);
    };
    const whole = await readTranscriptPage(bytesOf(text, 1000), { start: 200, onCheckpoint: note });
    const from = cache.nearest('g', 200);
    expect(from?.index).toBe(200);
    const bytes = new TextEncoder().encode(text);
    const resumed = await readTranscriptPage(
      bytesOf(new TextDecoder().decode(bytes.subarray(from?.offset ?? 0)), 77),
      {
        start: 200,
        ...(from === undefined ? {} : { from }),
      },
    );
    expect(resumed.entries.map((e) => [e.index, e.value?.['id'], e.running])).toEqual(
      whole.entries.map((e) => [e.index, e.value?.['id'], e.running]),
    );
    expect(cache.nearest('g', 150)?.index).toBe(100);
    expect(cache.nearest('other', 150)).toBeUndefined();
  });

  it('answers an unknown entry with an empty page', async () => {
    const page = await readTranscriptPage(bytesOf(`${many.join('\n')}\n`), { entryId: 'nope' });
    expect(page.entries).toEqual([]);
  });

  it('splits lines across chunks, multi-byte characters and a missing final newline', async () => {
    const lines: string[] = [];
    for (const chunk of [1, 2, 5, 100])
      for await (const batch of lineBatchesOf(bytesOf('会议\n€uro\n\nlast', chunk)))
        lines.push(...batch.map((l) => l.toString('utf8')));
    expect(lines).toEqual(Array.from({ length: 4 }, () => ['会议', '€uro', '', 'last']).flat());
  });
});

describe('Markdown of messages', () => {
  it('renders formatting and safe links, escapes HTML, drops scripts and images', () => {
    const out = renderMarkdown(
      '**b** [ok](https://x.test) [bad](javascript:alert(1)) <b>t</b> ![i](https://t.test/i.png)',
    );
    expect(out).toContain('<strong>b</strong>');
    expect(out).toContain('<a href="https://x.test" rel="nofollow noopener noreferrer">ok</a>');
    expect(out).not.toContain('href="javascript');
    expect(out).toContain('&lt;b&gt;t&lt;/b&gt;');
    expect(out).not.toContain('<img');
  });
});

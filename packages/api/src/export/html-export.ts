import { html, raw } from 'hono/html';
import { DASHBOARD_CSS } from '../dashboard/assets.ts';
import { renderConversation } from '../dashboard/conversation.ts';
import type { PageEntry } from '../dashboard/transcript-page.ts';
import { headerFacts } from './markdown-export.ts';
import type { ExportHeader } from './export-header.ts';
import type { Turn } from './turns.ts';

/**
 * What the file itself allows wherever it is opened: its own inline style and `data:` images,
 * nothing else (no script, no request anywhere). Transcripts are strangers' text.
 */
export const EXPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/** Turns rendered per piece: the conversation is written as it is read. */
const TURNS_PER_PIECE = 50;

/**
 * A session as one self-contained HTML file: the dashboard's conversation view (escaped, masked),
 * its stylesheet inline, no script, links between entries as `#` anchors. Written 50 turns at a
 * time.
 */
export async function* htmlExport(
  turns: AsyncIterable<Turn>,
  header: ExportHeader,
): AsyncGenerator<string> {
  const title = header.title ?? `Session ${header.sessionId}`;
  const facts = headerFacts(header, (text) => text);
  // The document up to the conversation; it is closed after the last turn.
  yield String(
    await html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta http-equiv="Content-Security-Policy" content="${EXPORT_CSP}" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>${title}</title>
          <style>
            ${raw(DASHBOARD_CSS)}
          </style>
        </head>
        <body>
          <main>
            <h1>${title}</h1>
            <ul class="muted">
              ${facts.map((fact) => html`<li>${fact}</li>`)}
            </ul>
          </main>
        </body>
      </html>`,
  );
  let piece: PageEntry[] = [];
  const flush = async () => {
    const out = String(await renderConversation(piece, undefined));
    piece = [];
    return out;
  };
  for await (const turn of turns) {
    piece.push(turn.entry, ...turn.results.values());
    if (piece.length >= TURNS_PER_PIECE) yield await flush();
  }
  if (piece.length > 0) yield await flush();
  yield '</main></body></html>\n';
}

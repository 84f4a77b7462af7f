import type { AgentScope, Storage } from '@nexus/core';
import { parseGeneration } from '../http/query-params.ts';
import type { SecretMasker } from '../content/secret-mask.ts';
import { pageEntries } from '../dashboard/transcript-page.ts';
import { openTranscript, readSession } from '../transcripts/session-queries.ts';
import {
  exportHeader,
  parseFormat,
  parseSwitch,
  type ExportFormat,
  type ExportOptions,
} from './export-header.ts';
import { EXPORT_CSP, htmlExport } from './html-export.ts';
import { jsonExport } from './json-export.ts';
import { markdownExport } from './markdown-export.ts';
import { turnsOf } from './turns.ts';

/** The query of an export: `format`, `g` (a generation), `thinking`, `details`. */
export interface ExportQuery {
  readonly format?: string | undefined;
  readonly g?: string | undefined;
  readonly thinking?: string | undefined;
  readonly details?: string | undefined;
}

/** An export's query from a request's query parameters. */
export function exportQueryOf(query: (name: string) => string | undefined): ExportQuery {
  return {
    format: query('format'),
    g: query('g'),
    thinking: query('thinking'),
    details: query('details'),
  };
}

const TYPES: Readonly<Record<ExportFormat, { type: string; extension: string }>> = {
  markdown: { type: 'text/markdown; charset=utf-8', extension: 'md' },
  json: { type: 'application/json; charset=utf-8', extension: 'json' },
  html: { type: 'text/html; charset=utf-8', extension: 'html' },
};

/**
 * One session (its latest generation, or `g`) exported as Markdown, JSON or self-contained HTML,
 * masked, as a download streamed while it is read: one turn of the transcript in memory.
 */
export async function exportSession(
  storage: Storage,
  masker: SecretMasker,
  scope: AgentScope,
  sessionId: string,
  query: ExportQuery,
  now: Date,
): Promise<Response> {
  const format = parseFormat(query.format);
  const options: ExportOptions = {
    thinking: parseSwitch('thinking', query.thinking, false),
    details: parseSwitch('details', query.details, true),
  };
  const g = parseGeneration(query.g);
  const { session, rows } = await readSession(storage, scope, sessionId);
  const sha256 = g ?? session.latestSha256;
  const opened = await openTranscript(storage, scope, session.sessionId, sha256, { rows });
  const header = exportHeader(session, opened.generation, masker, now);
  const turns = turnsOf(pageEntries(opened.body), masker);
  const text =
    format === 'markdown'
      ? markdownExport(turns, header, options)
      : format === 'json'
        ? jsonExport(turns, header, options)
        : htmlExport(turns, header);
  const { type, extension } = TYPES[format];
  return new Response(ReadableStream.from(encoded(text)), {
    headers: {
      'content-type': type,
      'content-disposition': `attachment; filename="${session.sessionId}-${sha256.slice(0, 12)}.${extension}"`,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      ...(format === 'html' ? { 'content-security-policy': EXPORT_CSP } : {}),
    },
  });
}

/** Text pieces as UTF-8 bytes. */
export async function* encoded(pieces: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for await (const piece of pieces) if (piece !== '') yield encoder.encode(piece);
}

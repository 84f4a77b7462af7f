import { exportEntry } from './exported-entry.ts';
import type { ExportHeader, ExportOptions } from './export-header.ts';
import type { Turn } from './turns.ts';

/** The JSON export's `format`, changed only with its shape. */
export const JSON_EXPORT_FORMAT = 'nexus.session-export.v1';

/**
 * A session as one JSON document, written a turn at a time: `session` (the header), `entries`
 * (messages normalised: text, tool calls with their results, images named, usage; and events),
 * then `totals`. Valid JSON however long, never held whole.
 */
export async function* jsonExport(
  turns: AsyncIterable<Turn>,
  header: ExportHeader,
  options: ExportOptions,
): AsyncGenerator<string> {
  yield `{"format":${JSON.stringify(JSON_EXPORT_FORMAT)},"session":${JSON.stringify(header)},"entries":[\n`;
  let first = true;
  const totals = { messages: 0, toolCalls: 0, tokens: 0, costUsd: 0 };
  for await (const turn of turns) {
    const entry = exportEntry(turn, options);
    if (entry.kind === 'message') {
      totals.messages += 1;
      totals.toolCalls += entry.toolCalls.length;
      totals.tokens += entry.usage?.totalTokens ?? 0;
      totals.costUsd += entry.usage?.costUsd ?? 0;
    }
    yield `${first ? '' : ',\n'}${JSON.stringify(entry)}`;
    first = false;
  }
  yield `\n],"totals":${JSON.stringify(totals)}}\n`;
}

import type { SecretMasker } from '../content/secret-mask.ts';
import type { PageEntry } from '../dashboard/transcript-page.ts';
import { isObject, maskedEntry, messageOf, str, type Json } from '../content/transcript-json.ts';

/** An entry of the transcript with the results of the tool calls it made, when they follow it. */
export interface Turn {
  readonly entry: PageEntry;
  /** Tool results by the id of the call they answer. */
  readonly results: ReadonlyMap<string, PageEntry>;
}

/** The ids of the tool calls an assistant message makes. */
function callIdsOf(message: Json | undefined): Set<string> {
  const ids = new Set<string>();
  if (message?.['role'] !== 'assistant' || !Array.isArray(message['content'])) return ids;
  for (const block of message['content'])
    if (isObject(block) && block['type'] === 'toolCall' && typeof block['id'] === 'string')
      ids.add(block['id']);
  return ids;
}

/**
 * The entries of a transcript as turns: each tool result joins the assistant message whose call
 * it answers when it follows that message (as OpenClaw writes them); any other entry is a turn of
 * its own. At most one assistant message and its results are held, so memory stays one turn's.
 * Every string is masked on the way (`SecretMasker.maskJson`); stored bytes are untouched.
 */
export async function* turnsOf(
  batches: AsyncIterable<readonly PageEntry[]>,
  masker: SecretMasker,
): AsyncGenerator<Turn> {
  let held: { entry: PageEntry; calls: Set<string>; results: Map<string, PageEntry> } | undefined;
  for await (const batch of batches) {
    for (const unmasked of batch) {
      const entry = maskedEntry(unmasked, masker);
      const message = messageOf(entry);
      const callId = message?.['role'] === 'toolResult' ? str(message['toolCallId']) : undefined;
      if (held !== undefined && callId !== undefined && held.calls.has(callId)) {
        held.results.set(callId, entry);
        continue;
      }
      if (held !== undefined) yield { entry: held.entry, results: held.results };
      held = undefined;
      const calls = callIdsOf(message);
      if (calls.size > 0) held = { entry, calls, results: new Map() };
      else yield { entry, results: new Map() };
    }
  }
  if (held !== undefined) yield { entry: held.entry, results: held.results };
}

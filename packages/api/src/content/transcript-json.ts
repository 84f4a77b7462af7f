import type { PageEntry } from '../dashboard/transcript-page.ts';
import type { SecretMasker } from './secret-mask.ts';

/**
 * Reading a parsed transcript entry, whose every field is a stranger's JSON: the page, the
 * exports and the search index use these same readings. Pure.
 */
export type Json = Readonly<Record<string, unknown>>;

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;
/** A string or number field as text; anything else as "?". */
export const scalar = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : '?';

/** The message an entry holds, if it is a `message` entry. */
export function messageOf(entry: PageEntry): Json | undefined {
  const message = entry.value?.['message'];
  return entry.value?.['type'] === 'message' && isObject(message) ? message : undefined;
}

/** A message's content as blocks: a plain string is one text block. */
export function contentBlocks(content: unknown): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isObject) : [];
}

/** `{"command":"gcalcli agenda"}` → `command: gcalcli agenda`, on one line, at most `max` long. */
export function argumentsSummary(args: unknown, max: number): string {
  if (!isObject(args)) return typeof args === 'string' ? args.slice(0, max) : '';
  const text = Object.entries(args)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ')
    .replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An entry as it may be shown: every string masked (its value, or its raw line). */
export function maskedEntry(entry: PageEntry, masker: SecretMasker): PageEntry {
  return {
    ...entry,
    value: masker.maskJson(entry.value) as PageEntry['value'],
    ...(entry.raw === undefined ? {} : { raw: masker.mask(entry.raw) }),
  };
}

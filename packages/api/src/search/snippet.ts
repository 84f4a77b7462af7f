import { fold, isCjk, type QueryTerm } from './search-text.ts';

/** A piece of a message around what was found, with where the found words are in it. */
export interface Snippet {
  readonly text: string;
  /** `[start, end)` offsets into `text` (UTF-16 code units, as JavaScript counts) to mark. */
  readonly marks: readonly (readonly [number, number])[];
}

const BEFORE = 60;
const LENGTH = 220;

/**
 * The snippet of `text` (already masked: a secret cut in half by the window would otherwise
 * show its other half) around the first place a term occurs, whitespace collapsed. Terms are
 * compared without case and accents; a Latin word only where a word starts (and, unless it is a
 * prefix, ends), a CJK word anywhere. Pure.
 */
export function snippetOf(text: string, terms: readonly QueryTerm[]): Snippet {
  const flat = text.replace(/\s+/g, ' ').trim();
  // The folded text, and for each of its code units the offset of the character it came from.
  let folded = '';
  const origin: number[] = [];
  let offset = 0;
  for (const char of flat) {
    const f = fold(char);
    for (let i = 0; i < f.length; i += 1) origin.push(offset);
    folded += f;
    offset += char.length;
  }
  origin.push(offset);
  const found: [number, number][] = [];
  for (const term of terms) {
    const needle = fold(term.text.replace(/\s+/g, ' '));
    if (needle === '') continue;
    const cjk = isCjk(needle);
    for (let at = folded.indexOf(needle); at !== -1; at = folded.indexOf(needle, at + 1)) {
      let end = at + needle.length;
      if (!cjk && (wordChar(folded[at - 1]) || (!term.prefix && wordChar(folded[end])))) continue;
      // A prefix marks the whole word it begins.
      if (term.prefix) while (wordChar(folded[end])) end += 1;
      found.push([origin[at] ?? 0, origin[end] ?? flat.length]);
    }
  }
  found.sort((a, b) => a[0] - b[0]);
  const first = found[0]?.[0] ?? 0;
  let start = Math.max(0, first - BEFORE);
  // Begin at a word when one is near, and never inside a surrogate pair.
  const space = flat.lastIndexOf(' ', first);
  if (start > 0 && space >= start - 20 && space < first) start = space + 1;
  if (isLowSurrogate(flat.charCodeAt(start))) start -= 1;
  let end = Math.min(flat.length, start + LENGTH);
  if (isLowSurrogate(flat.charCodeAt(end))) end += 1;
  const lead = start > 0 ? '…' : '';
  const marks: [number, number][] = [];
  for (const [from, to] of found) {
    if (from < start || to > end) continue;
    const last = marks[marks.length - 1];
    if (last !== undefined && from - start + lead.length < last[1]) continue;
    marks.push([from - start + lead.length, to - start + lead.length]);
  }
  return { text: `${lead}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`, marks };
}

const wordChar = (char: string | undefined): boolean =>
  char !== undefined && /[\p{L}\p{N}_]/u.test(char) && !isCjk(char);
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

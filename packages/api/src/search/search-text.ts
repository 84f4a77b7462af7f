import { ValidationError } from '@nexus/core';

/**
 * Text as the index and the queries see it. SQLite's `unicode61` tokenizer folds case and accents
 * but keeps a run of Chinese, Japanese or Korean characters as one token, so a word inside it is
 * never found (OpenClaw's own search, #140736). Each such run is written as its overlapping
 * two-character pieces, then its characters one by one (今天会议 → 今天 天会 会议 今 天 会 议): a
 * word of two or more characters is a phrase of pieces, one character a token of its own (a
 * prefix of the pieces instead was measured at 30 ms p50, 98 ms p99 over a million messages:
 * thousands of pieces begin with a common character). Pure.
 */
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu;
const IS_CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** What the full-text index stores for `text`. */
export function indexText(text: string): string {
  return text.replace(CJK_RUN, (run) => ` ${[...pairs(run), ...Array.from(run)].join(' ')} `);
}

/**
 * A query's text as the index's tokens: the same pairs (a run's characters one by one follow all
 * of its pairs in the index, so they are not part of a phrase).
 */
function queryText(text: string): string {
  return text.replace(CJK_RUN, (run) => {
    const found = pairs(run);
    return ` ${found.length > 0 ? found.join(' ') : run} `;
  });
}

function pairs(run: string): string[] {
  const chars = Array.from(run);
  const found: string[] = [];
  for (let i = 0; i + 1 < chars.length; i += 1) found.push(`${chars[i]}${chars[i + 1]}`);
  return found;
}

/** One thing the user looks for: a word (or a prefix of one) or a phrase, as typed. */
export interface QueryTerm {
  readonly text: string;
  readonly prefix: boolean;
}

export interface ParsedQuery {
  /** The FTS5 expression over the indexed text. */
  readonly match: string;
  /** What to mark in a snippet. */
  readonly terms: readonly QueryTerm[];
}

export const QUERY_SYNTAX =
  'words (all must appear, in any order; case and accents ignored), "a phrase" in double quotes, and prefix* with a star; AND between terms is optional';

const MAX_QUERY_CHARS = 500;
const MAX_TERMS = 20;

/**
 * The user's query as an FTS5 expression: every term must match (AND), `"..."` is a phrase,
 * `word*` a prefix; anything else FTS5 would read as syntax is quoted, so no query is an error
 * of the engine. Throws a 400 that states the syntax when nothing searchable is left.
 */
export function parseQuery(input: string): ParsedQuery {
  if (input.length > MAX_QUERY_CHARS)
    throw new ValidationError(
      'invalid_query',
      `q is ${input.length} characters; a query may have up to ${MAX_QUERY_CHARS}. Syntax: ${QUERY_SYNTAX}.`,
    );
  const terms: QueryTerm[] = [];
  const parts: string[] = [];
  for (const found of input.matchAll(/"([^"]*)"?|(\S+)/g)) {
    const phrase = found[1];
    const word = found[2];
    if (word !== undefined && /^(AND|and)$/.test(word)) continue;
    const prefix = word !== undefined && word.endsWith('*');
    const text = (phrase ?? word ?? '').replace(/\*+$/, '').trim();
    if (!/[\p{L}\p{N}]/u.test(text)) continue;
    const expression = termExpression(text, prefix);
    terms.push({ text, prefix });
    parts.push(expression);
  }
  if (parts.length === 0)
    throw new ValidationError(
      'invalid_query',
      `q has nothing to search for. Syntax: ${QUERY_SYNTAX}; e.g. q=backup "disk full" 会议.`,
    );
  if (parts.length > MAX_TERMS)
    throw new ValidationError(
      'invalid_query',
      `q has ${parts.length} terms; up to ${MAX_TERMS} are searched together. Syntax: ${QUERY_SYNTAX}.`,
    );
  return { match: parts.join(' AND '), terms };
}

/** One term as FTS5 syntax: a quoted phrase (the tokenizer splits it as it split the text). */
function termExpression(text: string, prefix: boolean): string {
  const chars = Array.from(text.trim());
  // One CJK character: the token of that character.
  if (chars.length === 1 && IS_CJK.test(text)) return `${quote(text)}${prefix ? ' *' : ''}`;
  return `${quote(queryText(text).replace(/\s+/g, ' ').trim())}${prefix ? ' *' : ''}`;
}

const quote = (text: string): string => `"${text.replace(/"/g, '""')}"`;

/** Lower case without accents, for comparing what a person typed with what was written. */
export function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

export const isCjk = (text: string): boolean => IS_CJK.test(text);

/** Longer tokens are left out of `searchTokens` (no one searches for them; engines cap them). */
const MAX_TOKEN_CHARS = 200;
const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Text as the tokens an engine that only splits on spaces should index (Azure AI Search's
 * `whitespace` analyzer): words of letters and digits in lower case without accents, each CJK
 * run as its pairs then its characters (`indexText`). What SQLite's tokenizer does on its own,
 * done here so the engine's analyzers need not be trusted to match. Pure.
 */
export function searchTokens(text: string): string[] {
  return tokensOf(indexText(text));
}

/**
 * A query as Azure AI Search's simple syntax over `searchTokens`: each term required (with
 * `searchMode: 'all'`), a term of several tokens a phrase, a prefix the last token's `*` (a
 * phrase cannot end in a prefix there, so `"disk fu"*` is the phrase "disk" and the prefix fu*).
 * The tokens hold only letters and digits, so nothing in them is syntax. Pure.
 */
export function simpleQuery(terms: readonly QueryTerm[]): string {
  const parts: string[] = [];
  for (const term of terms) {
    const chars = Array.from(term.text);
    const tokens =
      chars.length === 1 && IS_CJK.test(term.text) ? [term.text] : tokensOf(queryText(term.text));
    const last = tokens.pop();
    if (last === undefined) continue;
    const tail = term.prefix ? `${last}*` : last;
    if (tokens.length === 0) parts.push(tail);
    else if (term.prefix) parts.push(`"${tokens.join(' ')}"`, tail);
    else parts.push(`"${[...tokens, last].join(' ')}"`);
  }
  return parts.join(' ');
}

function tokensOf(text: string): string[] {
  const tokens: string[] = [];
  for (const [word] of text.matchAll(TOKEN)) {
    const token = IS_CJK.test(word) ? word : fold(word);
    if (token !== '' && token.length <= MAX_TOKEN_CHARS) tokens.push(token);
  }
  return tokens;
}

import { ENTRIES_PER_PAGE } from './transcript-page.ts';

/**
 * The dashboard's addresses that other parts hand out (the search API's permalinks, the pages'
 * links): one place for their shape. Pure.
 */

/** An entry id that can stand in an address and an element id as it is. */
export function linkableId(id: unknown): id is string {
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(id);
}

/** The id of an entry's element: `e-<id>` for a linkable id, else `l-<line>` (0-based). */
export function entryAnchor(id: unknown, line: number): string {
  return linkableId(id) ? `e-${id}` : `l-${line}`;
}

export function sessionHref(s: { hostId: string; agentId: string; sessionId: string }): string {
  return `/hosts/${encodeURIComponent(s.hostId)}/agents/${encodeURIComponent(s.agentId)}/sessions/${encodeURIComponent(s.sessionId)}`;
}

/**
 * One entry of a generation on its session's page: by its id (`?entry=`), else the page holding
 * its line (`?start=`), at its element.
 */
export function entryHref(
  session: { hostId: string; agentId: string; sessionId: string },
  sha256: string,
  entry: { id: unknown; line: number },
): string {
  const base = `${sessionHref(session)}?g=${sha256}`;
  return linkableId(entry.id)
    ? `${base}&entry=${encodeURIComponent(entry.id)}#${entryAnchor(entry.id, entry.line)}`
    : `${base}&start=${entry.line - (entry.line % ENTRIES_PER_PAGE) + 1}#${entryAnchor(undefined, entry.line)}`;
}

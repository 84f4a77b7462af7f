import { html } from 'hono/html';
import { ValidationError, scopeKey, validateId, validateScope, type Generation } from '@nexus/core';
import { authorize } from '../../auth/access.ts';
import { parseGeneration, parseLimit } from '../../http/query-params.ts';
import { openTranscript, readSession } from '../../transcripts/session-queries.ts';
import type { PageContext } from '../dashboard-routes.ts';
import { renderConversation } from '../conversation.ts';
import {
  bytes,
  compact,
  count,
  csrfField,
  hrefWith,
  isAdmin,
  layout,
  usd,
  when,
  type Html,
  type Viewer,
} from '../page.ts';
import { ApiAnswerError } from '../internal-api.ts';
import { ENTRIES_PER_PAGE, readTranscriptPage } from '../transcript-page.ts';
import { sessionHref } from '../links.ts';
import { exportQueryOf, exportSession } from '../../export/session-export.ts';
import { maskedEntry } from '../../content/transcript-json.ts';

/**
 * One session as a person reads it, a page of entries at a time (`?start=`), or the page holding
 * one entry (`?entry=<id>`, a permalink); any of its generations (`?g=<sha256>`), the latest by
 * default; its facts and generations beside it.
 */
export async function sessionPage({
  c,
  viewer,
  storage,
  checkpoints,
  masker,
}: PageContext): Promise<Html> {
  const scope = readableScope({ c, viewer }, 'reads a session');
  // The session, its generations and their rows in one read; the transcript opens from the rows.
  const { session, generations, rows } = await readSession(
    storage,
    scope,
    c.req.param('sessionId') ?? '',
  );
  const g = parseGeneration(c.req.query('g'));
  const sha256 = g ?? session.latestSha256;
  const entryId = c.req.query('entry');
  const start = parseLimit(c.req.query('start'), 1, 100_000_000, 'start') - 1;
  const seeking = entryId !== undefined && entryId !== '';
  // A page start met before (any page's, this generation's): read from there, not from byte 0.
  const cacheKey = `${scopeKey(scope)}/${session.sessionId}/${sha256}`;
  const from = seeking ? undefined : checkpoints.nearest(cacheKey, start);
  const opened = await openTranscript(storage, scope, session.sessionId, sha256, {
    from: from?.offset ?? 0,
    rows,
  });
  const page = await readTranscriptPage(opened.body, {
    ...(seeking ? { entryId } : { start }),
    ...(from === undefined ? {} : { from }),
    onCheckpoint: (checkpoint) => {
      checkpoints.note(cacheKey, checkpoint);
    },
  });
  const base = sessionHref(session);
  // What the page shows is masked; the raw download below is the exact bytes.
  const entries = page.entries.map((entry) => maskedEntry(entry, masker));
  const title =
    session.title === undefined || session.title === null ? undefined : masker.mask(session.title);
  const here = sha256 === session.latestSha256 ? base : hrefWith(base, { g: sha256 });
  const lines = opened.generation.summary.lines;
  const pageLink = (from: number, label: string) =>
    html`<a
      href="${hrefWith(base, { g: g === undefined ? undefined : sha256, start: String(from + 1) })}"
      >${label}</a
    >`;
  const pager = html`<nav class="pager" aria-label="Pages of the transcript">
    ${page.start > 0 ? pageLink(Math.max(0, page.start - ENTRIES_PER_PAGE), '← Earlier') : ''}
    <span class="muted"
      >Entries
      ${count(page.entries.length === 0 ? 0 : page.start + 1)}–${count(
        page.start + page.entries.length,
      )}
      of ${count(lines)}</span
    >
    ${page.more ? pageLink(page.start + ENTRIES_PER_PAGE, 'Later →') : ''}
  </nav>`;

  const exportHref = (format: string) =>
    hrefWith(`${base}/export`, { format, g: g === undefined ? undefined : sha256 });
  const body = html`<h1>${title ?? `Session ${session.sessionId}`}</h1>
    <div class="layout-2">
      <section aria-label="Conversation">
        ${
          entryId !== undefined && entryId !== '' && page.entries.length === 0
            ? html`<p class="error" role="alert">
                This generation has no entry ${entryId}; it may be in another generation.
              </p>`
            : ''
        }
        ${pager} ${renderConversation(entries, here)} ${pager}
        <p class="muted">Keys: j and k move between entries.</p>
      </section>
      <aside class="side">
        <div class="card">
          <dl class="facts">
            <dt>Host / agent</dt>
            <dd>${session.hostId} / ${session.agentId}</dd>
            <dt>Session</dt>
            <dd><code>${session.sessionId}</code></dd>
            <dt>State</dt>
            <dd>
              <span class="badge ${session.state?.state ?? 'live'}"
                >${session.state?.state ?? 'live'}</span
              >
            </dd>
            <dt>Started</dt>
            <dd>${when(session.firstTimestamp)}</dd>
            <dt>Last activity</dt>
            <dd>${when(session.activityAt)}</dd>
            <dt>Messages</dt>
            <dd>${count(session.messages)}</dd>
            <dt>Tool calls</dt>
            <dd>${count(session.toolCalls)}</dd>
            <dt>Tokens</dt>
            <dd>${compact(session.tokens.total)}</dd>
            <dt>Cost</dt>
            <dd>${usd(session.costUsd)}</dd>
            <dt>Models</dt>
            <dd>${session.models.join(', ') || '—'}</dd>
            <dt>Channel</dt>
            <dd>${session.context.channel ?? '—'}</dd>
          </dl>
          <p class="export">
            Export (secrets masked):
            <a href="${exportHref('markdown')}" download>Markdown</a> ·
            <a href="${exportHref('html')}" download>HTML</a> ·
            <a href="${exportHref('json')}" download>JSON</a>
          </p>
          <p>
            <a href="${hrefWith(`${base}/raw`, { g: sha256 })}" download
              >Download this generation (raw JSONL, exact bytes, ${bytes(opened.bytes)})</a
            >
          </p>
        </div>
        <div class="card">
          <h2>Generations</h2>
          <ol>
            ${generationList(generations, sha256, base)}
          </ol>
        </div>
        ${deleteForm(viewer, base, session.sessionId)}
      </aside>
    </div>`;
  return layout({ title: title ?? session.sessionId, viewer, current: '/sessions', body });
}

/**
 * Deleting the session, for admins: folded away, and sent only with the box ticked (the server
 * checks the box too). Readers are told who can.
 */
function deleteForm(viewer: Viewer, base: string, sessionId: string): Html {
  if (!isAdmin(viewer)) return html`<p class="muted">An admin key can delete this session.</p>`;
  return html`<details class="card">
    <summary>Delete this session…</summary>
    <p>
      Deletes everything Nexus stores of it, for good: every generation, its usage and its messages
      in the search index. Nothing is deleted on the OpenClaw host; if the session grows there, the
      worker backs it up again. Export it first if you want a copy.
    </p>
    <form method="post" action="${base}/delete">
      ${csrfField(viewer)}
      <p>
        <label
          ><input type="checkbox" name="confirm" value="yes" required /> Delete session
          <code>${sessionId}</code> and all its generations</label
        >
      </p>
      <button type="submit" class="danger">Delete session</button>
    </form>
  </details>`;
}

/**
 * The form's POST: the API's own DELETE, as the logged-in admin. Answers with what went (a page,
 * not a redirect: its figures are the API's answer, never read back from a link).
 */
export async function deleteFromPage({ c, viewer, api, form }: PageContext): Promise<Html> {
  const scope = validateScope(c.req.param('hostId') ?? '', c.req.param('agentId') ?? '');
  // Checked before it becomes part of the API's path: `..` would climb out of the session.
  const sessionId = validateId('session id', c.req.param('sessionId') ?? '');
  if (form.get('confirm') !== 'yes')
    throw new ValidationError(
      'confirmation_required',
      'Nothing was deleted: tick the box that names the session, then press Delete session.',
    );
  const path = `/v1/hosts/${encodeURIComponent(scope.hostId)}/agents/${encodeURIComponent(scope.agentId)}/sessions/${encodeURIComponent(sessionId)}`;
  const answer = await api.call<{
    deleted: { generations: number; blobs: number; bytes: number; indexedMessages: number };
  }>(viewer.principal, 'DELETE', path);
  if (!answer.ok) throw new ApiAnswerError(answer.status, answer.error?.message ?? '');
  const { deleted } = answer.body;
  const body = html`<h1>Session deleted</h1>
    <p class="notice" role="status">
      Session <code>${sessionId}</code> of ${scope.hostId} / ${scope.agentId} is deleted.
      Generations: ${count(deleted.generations)} · stored: ${bytes(deleted.bytes)} · blobs:
      ${count(deleted.blobs)} · messages taken out of the search index:
      ${count(deleted.indexedMessages)}.
    </p>
    <p><a href="/sessions">Back to the sessions</a></p>`;
  return layout({ title: 'Session deleted', viewer, current: '/sessions', body });
}

/** Each stored generation: when, what kind, what it added to the one before; the shown one marked. */
function generationList(generations: readonly Generation[], shown: string, base: string): Html {
  let previousMessages = 0;
  return html`${generations.map((generation) => {
    const messages = Object.values(generation.summary.messagesByRole).reduce((a, b) => a + b, 0);
    const added = messages - previousMessages;
    previousMessages = messages;
    const label = html`${generation.kind}${
      generation.origin === undefined ? '' : ` (${generation.origin})`
    },
    ${when(generation.receivedAt)}: ${count(generation.summary.lines)} entries,
    ${added >= 0 ? `+${count(added)}` : count(added)} messages`;
    return html`<li>
      ${
        generation.sha256 === shown
          ? html`<strong aria-current="true">${label}</strong>`
          : html`<a href="${hrefWith(base, { g: generation.sha256 })}">${label}</a>`
      }
    </li>`;
  })}`;
}

/** The exact bytes of one generation, as a download (never rendered by the browser). */
export async function rawTranscript({ c, viewer, storage }: PageContext): Promise<Response> {
  const scope = readableScope({ c, viewer }, 'downloads a transcript');
  const sessionId = c.req.param('sessionId') ?? '';
  const opened = await openTranscript(storage, scope, sessionId, c.req.query('g') ?? '');
  return new Response(ReadableStream.from(opened.body), {
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(opened.bytes),
      'content-disposition': `attachment; filename="${sessionId}-${opened.generation.sha256.slice(0, 12)}.jsonl"`,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    },
  });
}

/** The session exported as the API exports it (`format`, `g`, `thinking`, `details`), masked. */
export async function exportFromPage({
  c,
  viewer,
  storage,
  masker,
  now,
}: PageContext): Promise<Response> {
  const scope = readableScope({ c, viewer }, 'exports a session');
  return exportSession(
    storage,
    masker,
    scope,
    c.req.param('sessionId') ?? '',
    exportQueryOf((name) => c.req.query(name)),
    now(),
  );
}

/** The host and agent of the path, once the viewer was found allowed to read that host. */
function readableScope(
  { c, viewer }: Pick<PageContext, 'c' | 'viewer'>,
  what: string,
): ReturnType<typeof validateScope> {
  const scope = validateScope(c.req.param('hostId') ?? '', c.req.param('agentId') ?? '');
  authorize(viewer.principal, {
    kind: 'read',
    hostId: scope.hostId,
    what: `${what} of host ${scope.hostId}`,
  });
  return scope;
}

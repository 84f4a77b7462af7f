import type { AgentScope, Storage } from '@nexus/core';
import type { SecretMasker } from '../content/secret-mask.ts';
import { pageEntries } from '../dashboard/transcript-page.ts';
import {
  listAgents,
  openTranscript,
  sessionsOf,
  type SessionListItem,
  type SessionListOptions,
} from '../transcripts/session-queries.ts';
import { padding, tarEnd, tarHeader } from '../transcripts/tar-entry.ts';
import { exportHeader, type ExportOptions } from './export-header.ts';
import { markdownExport } from './markdown-export.ts';
import { encoded } from './session-export.ts';
import { turnsOf } from './turns.ts';

/** A session's Markdown up to this size is kept from its one rendering; a larger one is rendered twice. */
const HELD_BYTES = 8 * 1024 * 1024;

/**
 * Sessions of one agent, or of every agent of a host, within a time range, as a tar archive of
 * Markdown files `<host>/<agent>/<day>-<session>.md` (most recently active first). A tar entry
 * names its size before its bytes: a session's Markdown is rendered once and held when it is at
 * most 8 MiB, else rendered once to count and again to send, so memory stays bounded.
 */
export async function* markdownArchive(
  storage: Storage,
  masker: SecretMasker,
  target: { hostId: string; agentId?: string },
  range: Omit<SessionListOptions, 'limit' | 'cursor'>,
  now: Date,
): AsyncGenerator<Uint8Array> {
  const scopes: AgentScope[] =
    target.agentId === undefined
      ? (await listAgents(storage, target.hostId)).map(({ hostId, agentId }) => ({
          hostId,
          agentId,
        }))
      : [{ hostId: target.hostId, agentId: target.agentId }];
  const options: ExportOptions = { thinking: false, details: true };
  for (const scope of scopes) {
    for await (const session of sessionsOf(storage, scope, range)) {
      const render = () => renderMarkdown(storage, masker, scope, session, options, now);
      const held: Uint8Array[] = [];
      let size = 0;
      for await (const piece of render()) {
        size += piece.byteLength;
        if (size <= HELD_BYTES) held.push(piece);
      }
      yield tarHeader({
        name: `${scope.hostId}/${scope.agentId}/${session.activityAt.slice(0, 10)}-${session.sessionId}.md`,
        size,
        mtimeMs: Date.parse(session.activityAt),
      });
      if (size <= HELD_BYTES) yield* held;
      else yield* render();
      yield padding(size);
    }
  }
  yield tarEnd();
}

async function* renderMarkdown(
  storage: Storage,
  masker: SecretMasker,
  scope: AgentScope,
  session: SessionListItem,
  options: ExportOptions,
  now: Date,
): AsyncGenerator<Uint8Array> {
  const opened = await openTranscript(storage, scope, session.sessionId, session.latestSha256);
  yield* encoded(
    markdownExport(
      turnsOf(pageEntries(opened.body), masker),
      exportHeader(session, opened.generation, masker, now),
      options,
    ),
  );
}

import type { AgentScope, Storage } from '@nexus/core';
import { openTranscript, sessionsOf, type SessionListOptions } from './session-queries.ts';
import { padding, tarEnd, tarHeader } from './tar-entry.ts';

/**
 * One agent's sessions as a tar stream: for each session (most recently active first, within the
 * time range), its latest generation's exact bytes as `agents/<agent>/sessions/<session>.jsonl`,
 * the layout OpenClaw keeps them in. One transcript in memory at a time, chunk by chunk.
 */
export async function* sessionBundle(
  storage: Storage,
  scope: AgentScope,
  range: Omit<SessionListOptions, 'limit' | 'cursor'>,
): AsyncGenerator<Uint8Array> {
  for await (const session of sessionsOf(storage, scope, range)) {
    const { bytes, body } = await openTranscript(
      storage,
      scope,
      session.sessionId,
      session.latestSha256,
    );
    yield tarHeader({
      name: `agents/${scope.agentId}/sessions/${session.sessionId}.jsonl`,
      size: bytes,
      mtimeMs: Date.parse(session.activityAt),
    });
    yield* body;
    yield padding(bytes);
  }
  yield tarEnd();
}

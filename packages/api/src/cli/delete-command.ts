import { UsageError } from '@nexus/core';
import {
  AdminClient,
  CONNECTION_HELP,
  parseAdminArgs,
  printAnswer,
  resolveHost,
} from './admin-client.ts';

export const DELETE_HELP = `Usage: nexus delete <session-id> [--host <id>] [--agent <id>] --yes

Deletes one stored session from Nexus for good: every generation of its transcript, its usage,
and its messages in the search index (an admin key). Without --yes it only says what would go.
The session stays on the OpenClaw host: if it grows there, the worker backs it up again. Export
it first (nexus export) if you want a copy.

Options:
  --host <id>     the host (default: the only one this Nexus serves)
  --agent <id>    the agent (default: main)
  --yes           delete it

${CONNECTION_HELP}

Docs: docs/API.md (Deleting a session)
`;

interface SessionView {
  session: { title?: string | null; activityAt?: string };
  generations: unknown[];
}

export async function deleteCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseAdminArgs(argv, {
    host: { type: 'string' },
    agent: { type: 'string' },
    yes: { type: 'boolean' },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(DELETE_HELP);
    return values.help ? 0 : 2;
  }
  if (positionals.length > 1)
    throw new UsageError(
      `delete takes one session id; got ${positionals.length}. See nexus delete --help.`,
    );
  const client = new AdminClient(values, env);
  const hostId = await resolveHost(client, values.host);
  const agentId = values.agent ?? 'main';
  const sessionId = positionals[0] ?? '';
  const path = `/v1/hosts/${encodeURIComponent(hostId)}/agents/${encodeURIComponent(agentId)}/sessions/${encodeURIComponent(sessionId)}`;
  const name = `session ${sessionId} of agent ${agentId} on host ${hostId}`;
  if (!values.yes) {
    const found = await client.request<SessionView>('GET', path);
    const title = found.session.title ?? '(untitled)';
    process.stdout.write(
      `Would delete ${name}: "${title}", ${found.generations.length} generation(s), last active ${found.session.activityAt ?? 'unknown'}.\nRun again with --yes to delete it.\n`,
    );
    return 2;
  }
  const answer = await client.request<{
    deleted: { generations: number; blobs: number; bytes: number; indexedMessages: number };
  }>('DELETE', path);
  const { generations, bytes, indexedMessages } = answer.deleted;
  return printAnswer(
    values.json,
    answer,
    () =>
      `Deleted ${name}: ${generations} generation(s), ${bytes} bytes of blobs, ${indexedMessages} indexed message(s).`,
  );
}

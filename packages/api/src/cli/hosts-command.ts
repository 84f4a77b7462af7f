import { parseArgs } from 'node:util';
import { UsageError } from '@nexus/core';
import { AdminClient, CONNECTION_HELP, CONNECTION_OPTIONS } from './admin-client.ts';
import { table } from './endpoints-command.ts';

export const HOSTS_HELP = `Usage: nexus hosts [list]

The OpenClaw machines this Nexus serves: each host's id and name, its agents, its last upload and
last claim of webhooks, and the version its worker announced.

${CONNECTION_HELP}

Docs: docs/API.md (Hosts)
`;

interface HostView {
  hostId: string;
  name: string;
  workerVersion?: string;
  lastUploadAt: string | null;
  lastClaimAt?: string;
  agents: { agentId: string }[];
}

export async function hostsCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { ...CONNECTION_OPTIONS },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HOSTS_HELP);
    return 0;
  }
  const [sub = 'list'] = positionals;
  if (sub !== 'list')
    throw new UsageError(`unknown hosts command "${sub}"; see nexus hosts --help.`);
  const client = new AdminClient(values, env);
  const answer = await client.request<{ hosts: HostView[] }>('GET', '/v1/hosts');
  process.stdout.write(
    `${
      values.json
        ? JSON.stringify(answer, null, 2)
        : answer.hosts.length === 0
          ? 'No hosts yet: a host appears when its worker starts, uploads or claims webhooks.'
          : table(
              ['host', 'name', 'agents', 'last upload', 'last claim', 'worker'],
              answer.hosts.map((h) => [
                h.hostId,
                h.name,
                h.agents.map((a) => a.agentId).join(',') || '-',
                h.lastUploadAt ?? 'never',
                h.lastClaimAt ?? 'never',
                h.workerVersion ?? '?',
              ]),
            )
    }\n`,
  );
  return 0;
}

import { UsageError } from '@nexus/core';
import { AdminClient, CONNECTION_HELP, parseAdminArgs } from './admin-client.ts';
import { table } from './endpoints-command.ts';

export const HOSTS_HELP = `Usage: nexus hosts [list]

The OpenClaw machines this Nexus serves: each host's id and name, whether its backups can be
relied on (ok, behind, failing, silent, unknown) and why, its agents, its last upload and last claim of
webhooks, and the version its worker announced. Exits 1 when a host is failing or silent.

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
  status: { health: string; reason: string };
}

export async function hostsCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseAdminArgs(argv, {});
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
              ['host', 'name', 'status', 'agents', 'last upload', 'last claim', 'worker'],
              answer.hosts.map((h) => [
                h.hostId,
                h.name,
                h.status.health,
                h.agents.map((a) => a.agentId).join(',') || '-',
                h.lastUploadAt ?? 'never',
                h.lastClaimAt ?? 'never',
                h.workerVersion ?? '?',
              ]),
            ) + reasons(answer.hosts)
    }\n`,
  );
  return answer.hosts.some((h) => h.status.health === 'failing' || h.status.health === 'silent')
    ? 1
    : 0;
}

/** Why each host that needs a look is not ok. */
function reasons(hosts: readonly HostView[]): string {
  const lines = hosts
    .filter((h) => h.status.health === 'failing' || h.status.health === 'silent')
    .map((h) => `\n${h.hostId}: ${h.status.reason}`);
  return lines.join('');
}

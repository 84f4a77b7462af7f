import { UsageError } from '@nexus/core';
import {
  AdminClient,
  CONNECTION_HELP,
  parseAdminArgs,
  helpExit,
  printAnswer,
  requireArg,
} from './admin-client.ts';
import { table } from './endpoints-command.ts';

export const KEYS_HELP = `Usage: nexus keys <create|list|revoke|enrol> [options]

API keys and what each may do. Roles: admin (everything), worker (one host: uploads for it,
claims and settles its webhooks), reader (reads every host, or a listed set). A created key is
shown once; Nexus keeps only its hash. A revoked key stops working at once on this server and
within 5 seconds on every other instance.

  nexus keys create --role worker --host <id> [--label <text>]
  nexus keys create --role reader [--hosts <id,id,...>] [--label <text>]   (all hosts by default)
  nexus keys create --role admin [--label <text>]
  nexus keys list                         prefix, role, hosts, label, created, last used, revoked
  nexus keys revoke <key id>              the id is the part after "nxk_" that "list" shows
  nexus keys enrol --host <id> [--hours <n>]
      a one-time code for a new host (valid 24 hours unless --hours says otherwise); on that
      host: nexus-worker enrol --url <this API> --code <code>

${CONNECTION_HELP}

Docs: docs/API.md (Keys)
`;

interface KeyView {
  keyId: string;
  role: string;
  hostId?: string;
  hosts?: 'all' | string[];
  label: string;
  createdAt: string;
  revokedAt?: string;
  lastUsedAt?: string;
  key?: string;
}

export async function keysCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseAdminArgs(argv, {
    role: { type: 'string' },
    host: { type: 'string' },
    hosts: { type: 'string' },
    label: { type: 'string' },
    hours: { type: 'string' },
  });
  const [sub, target] = positionals;
  const help = helpExit(values.help, sub, KEYS_HELP);
  if (help !== undefined) return help;
  const client = new AdminClient(values, env);
  const out = (answer: unknown, text: () => string) => printAnswer(values.json, answer, text);
  switch (sub) {
    case 'create': {
      const role = requireArg(values.role, '--role', 'nexus keys create --role worker --host <id>');
      const created = await client.request<KeyView>('POST', '/v1/keys', {
        role,
        ...(values.host === undefined ? {} : { hostId: values.host }),
        ...(values.hosts === undefined
          ? {}
          : {
              hosts: values.hosts === 'all' ? 'all' : values.hosts.split(',').map((h) => h.trim()),
            }),
        ...(values.label === undefined ? {} : { label: values.label }),
      });
      return out(created, () =>
        [
          `Created ${describeKey(created)} (id ${created.keyId}).`,
          `  Key: ${created.key ?? ''}`,
          'The key is shown only now: Nexus keeps its hash. Store it where it is used (a worker',
          'config readable only by its user, a password manager), and revoke it if it leaks.',
        ].join('\n'),
      );
    }
    case 'list': {
      const { keys } = await client.request<{ keys: KeyView[] }>('GET', '/v1/keys');
      return out({ keys }, () =>
        keys.length === 0
          ? 'No created keys (the keys of NEXUS_API_KEYS and the generated key are admin keys, not listed).'
          : table(
              ['key', 'role', 'hosts', 'label', 'created', 'last used', 'revoked'],
              keys.map((k) => [
                `nxk_${k.keyId}_…`,
                k.role,
                k.role === 'worker' ? (k.hostId ?? '') : k.role === 'reader' ? hostsOf(k) : 'all',
                k.label,
                k.createdAt,
                k.lastUsedAt ?? 'never',
                k.revokedAt ?? '',
              ]),
            ),
      );
    }
    case 'revoke': {
      const keyId = requireArg(target, 'the key id', 'nexus keys revoke <key id>')
        .replace(/^nxk_/, '')
        .replace(/_.*$/, '');
      const revoked = await client.request<KeyView>(
        'DELETE',
        `/v1/keys/${encodeURIComponent(keyId)}`,
      );
      return out(
        revoked,
        () =>
          `Revoked ${describeKey(revoked)} (id ${revoked.keyId}) at ${revoked.revokedAt ?? ''}; it stops working within 5 seconds everywhere.`,
      );
    }
    case 'enrol': {
      const hostId = requireArg(values.host, '--host', 'nexus keys enrol --host <id>');
      const hours = values.hours === undefined ? undefined : Number(values.hours);
      if (hours !== undefined && !(hours > 0))
        throw new UsageError(
          `--hours must be a number of hours above 0; got ${values.hours ?? ''}.`,
        );
      const made = await client.request<{ code: string; hostId: string; expiresAt: string }>(
        'POST',
        '/v1/enrolments',
        { hostId, ...(hours === undefined ? {} : { ttlHours: hours }) },
      );
      return out(made, () =>
        [
          `Enrolment code for host ${made.hostId} (works once, until ${made.expiresAt}):`,
          `  ${made.code}`,
          'On that host:',
          `  nexus-worker enrol --url ${client.url} --code ${made.code}`,
        ].join('\n'),
      );
    }
    default:
      throw new UsageError(`unknown keys command "${sub}"; see nexus keys --help.`);
  }
}

function describeKey(key: KeyView): string {
  if (key.role === 'worker') return `a worker key of host ${key.hostId ?? ''}`;
  if (key.role === 'reader')
    return `a reader key of ${hostsOf(key) === 'all' ? 'all hosts' : `hosts ${hostsOf(key)}`}`;
  return 'an admin key';
}

function hostsOf(key: KeyView): string {
  return key.hosts === undefined || key.hosts === 'all' ? 'all' : key.hosts.join(',');
}

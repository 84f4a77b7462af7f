import { UsageError } from '@nexus/core';
import {
  AdminClient,
  CONNECTION_HELP,
  parseAdminArgs,
  helpExit,
  printAnswer,
  requireArg,
} from './admin-client.ts';
import { PROVIDER_SETUP } from '../webhooks/provider-setup.ts';

export const ENDPOINTS_HELP = `Usage: nexus endpoints <add|list|show|rotate|template|events|pause|resume|notify|disable|enable|remove> [options]

Webhook endpoints: where GitHub, Stripe, Slack or any sender posts, for which agent, and what the
OpenClaw gateway is asked to do with each delivery.

  nexus endpoints add [--host <id>] --agent <id> --provider <p> [--id <id>]
                      [--action agent|wake|mapping]
                      [--mapping <name>] [--header <name>] [--template <text>]
                      [--dedupe-header <name>] [--secret-file <path>] [--disabled]
                      [--events <type,type,...>] [--paused] [--notify-dead]
      providers: github, gitlab, bitbucket, shopify, linear, sentry, pagerduty, meta, zoom,
      twitch, discord (its public key as the secret), twilio, stripe, slack, standard (Standard
      Webhooks), svix, resend, clerk; hmac (HMAC-SHA256 hex of the
      body in --header), token (a shared token in --header). Without --secret-file a secret is
      generated. Prints the URL, the secret to paste into the sender (shown only now) and the
      provider's setup steps.
      --host: the host whose worker delivers (default: the only host, when there is one).
      --events: deliver only these event types (exact, or a prefix ending in *, e.g.
      "issues,invoice.*"); others are answered 2xx and kept as filtered.
      --notify-dead: wake the agent with a short notice when a webhook goes dead (hourly at most).
  nexus endpoints list
  nexus endpoints show <id>
  nexus endpoints rotate <id>                    add a new secret; the old one keeps working
  nexus endpoints rotate <id> --retire <last4>   remove the old secret once the sender uses the new
  nexus endpoints template <id> --template <text>   the agent's message from now on (replays too)
  nexus endpoints template <id> --clear             back to the provider's built-in summary
  nexus endpoints events <id> --events <types>    deliver only these event types from now on
  nexus endpoints events <id> --clear             deliver every event again
  nexus endpoints pause <id>                      accept and keep deliveries, deliver none
  nexus endpoints resume <id>                     deliver what was kept, in order, and what comes
  nexus endpoints notify <id> on|off              dead-webhook notices to the agent
  nexus endpoints disable <id> | enable <id>     refuse (403) or accept deliveries again
  nexus endpoints remove <id>

  --public-url <url>      the address senders use (env NEXUS_PUBLIC_URL, default --url)
${CONNECTION_HELP}

Docs: docs/WEBHOOKS.md
`;

interface EndpointView {
  id: string;
  hostId: string;
  agentId: string;
  provider: { type: string; header?: string };
  action: { type: string; name?: string };
  enabled: boolean;
  events?: string[];
  paused?: boolean;
  notifyDead?: boolean;
  resumed?: number;
  resumeDone?: boolean;
  secrets: string[];
  url: string;
  addedSecret?: string;
  verifyToken?: string;
}

export async function endpointsCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseAdminArgs(argv, {
    'public-url': { type: 'string' },
    id: { type: 'string' },
    agent: { type: 'string' },
    host: { type: 'string' },
    provider: { type: 'string' },
    action: { type: 'string' },
    mapping: { type: 'string' },
    header: { type: 'string' },
    template: { type: 'string' },
    'dedupe-header': { type: 'string' },
    'secret-file': { type: 'string' },
    disabled: { type: 'boolean' },
    events: { type: 'string' },
    paused: { type: 'boolean' },
    'notify-dead': { type: 'boolean' },
    retire: { type: 'string' },
    clear: { type: 'boolean' },
  });
  const [sub, target, third] = positionals;
  const help = helpExit(values.help, sub, ENDPOINTS_HELP);
  if (help !== undefined) return help;
  const client = new AdminClient(values, env);
  const publicUrl = (values['public-url'] ?? env['NEXUS_PUBLIC_URL'] ?? client.url).replace(
    /\/+$/,
    '',
  );
  const print = (answer: unknown, text: () => string) => printAnswer(values.json, answer, text);
  const secretFromFile = async () => {
    if (values['secret-file'] === undefined) return undefined;
    const { readFile } = await import('node:fs/promises');
    return (await readFile(values['secret-file'], 'utf8')).trim();
  };
  const idOf = (usage: string) => encodeURIComponent(requireArg(target, 'the endpoint id', usage));

  switch (sub) {
    case 'add': {
      const secret = await secretFromFile();
      const created = await client.request<EndpointView>('POST', '/v1/endpoints', {
        ...(values.id === undefined ? {} : { id: values.id }),
        ...(values.host === undefined ? {} : { hostId: values.host }),
        agentId: requireArg(values.agent, '--agent', 'nexus endpoints add --agent <id> ...'),
        provider: requireArg(
          values.provider,
          '--provider',
          'nexus endpoints add --provider github ...',
        ),
        ...(values.action === undefined ? {} : { action: values.action }),
        ...(values.mapping === undefined ? {} : { mapping: values.mapping }),
        ...(values.header === undefined ? {} : { header: values.header }),
        ...(values.template === undefined ? {} : { template: values.template }),
        ...(values['dedupe-header'] === undefined ? {} : { dedupeHeader: values['dedupe-header'] }),
        ...(secret === undefined ? {} : { secrets: [secret] }),
        ...(values.disabled ? { enabled: false } : {}),
        ...(values.events === undefined ? {} : { events: eventList(values.events) }),
        ...(values.paused ? { paused: true } : {}),
        ...(values['notify-dead'] ? { notifyDead: true } : {}),
      });
      return print(created, () =>
        [
          `Endpoint ${created.id} created for agent ${created.agentId} on host ${created.hostId} (${created.provider.type}, action ${describeAction(created)}${created.enabled ? '' : ', disabled'}${created.paused ? ', paused' : ''}).`,
          ...(created.events
            ? [`  Events: ${created.events.join(', ')} (others are kept as filtered)`]
            : []),
          `  URL:    ${publicUrl}${created.url}`,
          `  Secret: ${created.secrets[0] ?? ''}`,
          ...(created.provider.header ? [`  Header: ${created.provider.header}`] : []),
          ...(created.verifyToken === undefined
            ? []
            : [`  Verify token: ${created.verifyToken} (Meta's "Verify token" field)`]),
          '',
          PROVIDER_SETUP[created.provider.type] ?? '',
          'The secret is shown only now: paste it into the sender, and keep no other copy.',
        ].join('\n'),
      );
    }
    case 'list': {
      const { endpoints } = await client.request<{ endpoints: EndpointView[] }>(
        'GET',
        '/v1/endpoints',
      );
      return print({ endpoints }, () =>
        endpoints.length === 0
          ? 'No endpoints yet; add one with "nexus endpoints add --agent main --provider github".'
          : table(
              ['id', 'host', 'agent', 'provider', 'action', 'state', 'events', 'secrets', 'url'],
              endpoints.map((e) => [
                e.id,
                e.hostId,
                e.agentId,
                e.provider.type,
                describeAction(e),
                !e.enabled ? 'disabled' : e.paused ? 'paused' : 'active',
                e.events?.join(',') ?? 'all',
                e.secrets.join(' '),
                `${publicUrl}${e.url}`,
              ]),
            ),
      );
    }
    case 'show': {
      const endpoint = await client.request<EndpointView>(
        'GET',
        `/v1/endpoints/${idOf('nexus endpoints show <id>')}`,
      );
      return print(endpoint, () =>
        JSON.stringify({ ...endpoint, url: `${publicUrl}${endpoint.url}` }, null, 2),
      );
    }
    case 'rotate': {
      const id = idOf('nexus endpoints rotate <id>');
      if (values.retire !== undefined) {
        const updated = await client.request<EndpointView>('PATCH', `/v1/endpoints/${id}`, {
          removeSecret: values.retire,
        });
        return print(
          updated,
          () =>
            `Retired the secret ending in ${values.retire ?? ''}; ${updated.id} now accepts ${updated.secrets.join(' ')}.`,
        );
      }
      const secret = await secretFromFile();
      const updated = await client.request<EndpointView>('PATCH', `/v1/endpoints/${id}`, {
        addSecret: secret ?? true,
      });
      return print(updated, () =>
        [
          `New secret for ${updated.id}: ${updated.addedSecret ?? ''}`,
          'Both the old and the new secret are accepted now. Put the new one into the sender, then retire the old one:',
          `  nexus endpoints rotate ${updated.id} --retire ${(updated.secrets[0] ?? '').replace('…', '')}`,
        ].join('\n'),
      );
    }
    case 'template': {
      const usage = 'nexus endpoints template <id> --template <text> | --clear';
      const id = idOf(usage);
      if ((values.template === undefined) === (values.clear !== true))
        throw new UsageError(`give either --template <text> or --clear: ${usage}.`);
      const updated = await client.request<EndpointView & { template?: string }>(
        'PATCH',
        `/v1/endpoints/${id}`,
        { template: values.clear ? null : values.template },
      );
      return print(updated, () =>
        updated.template === undefined
          ? `Endpoint ${updated.id} sends the provider's built-in summary again.`
          : `Endpoint ${updated.id} now writes its messages with: ${updated.template}\nIt applies to webhooks delivered from now on, replays included.`,
      );
    }
    case 'disable':
    case 'enable': {
      const updated = await client.request<EndpointView>(
        'PATCH',
        `/v1/endpoints/${idOf(`nexus endpoints ${sub} <id>`)}`,
        {
          enabled: sub === 'enable',
        },
      );
      return print(
        updated,
        () =>
          `Endpoint ${updated.id} is ${updated.enabled ? 'enabled: deliveries are accepted' : 'disabled: deliveries are refused with 403'}.`,
      );
    }
    case 'events': {
      const usage = 'nexus endpoints events <id> --events <type,type,...> | --clear';
      const id = idOf(usage);
      if ((values.events === undefined) === (values.clear !== true))
        throw new UsageError(`give either --events <types> or --clear: ${usage}.`);
      const updated = await client.request<EndpointView>('PATCH', `/v1/endpoints/${id}`, {
        events: values.clear ? null : eventList(values.events ?? ''),
      });
      return print(updated, () =>
        updated.events === undefined
          ? `Endpoint ${updated.id} delivers every event again.`
          : `Endpoint ${updated.id} delivers only ${updated.events.join(', ')}; other events are answered 2xx and kept as filtered (replay one to deliver it).`,
      );
    }
    case 'pause':
    case 'resume': {
      const updated = await client.request<EndpointView>(
        'PATCH',
        `/v1/endpoints/${idOf(`nexus endpoints ${sub} <id>`)}`,
        { paused: sub === 'pause' },
      );
      return print(updated, () =>
        sub === 'pause'
          ? `Endpoint ${updated.id} is paused: deliveries are accepted and kept, none goes to the agent until "nexus endpoints resume ${updated.id}".`
          : `Endpoint ${updated.id} is resumed: ${String(updated.resumed ?? 0)} kept webhook${updated.resumed === 1 ? '' : 's'} back in the queue${updated.resumeDone === false ? ' so far (the rest follow within a minute)' : ''}, delivered in the order they came.`,
      );
    }
    case 'notify': {
      const usage = 'nexus endpoints notify <id> on|off';
      const id = idOf(usage);
      if (third !== 'on' && third !== 'off') throw new UsageError(`say on or off: ${usage}.`);
      const updated = await client.request<EndpointView>('PATCH', `/v1/endpoints/${id}`, {
        notifyDead: third === 'on',
      });
      return print(updated, () =>
        updated.notifyDead === true
          ? `Endpoint ${updated.id}: when one of its webhooks goes dead, the agent is woken with a short notice (at most one an hour).`
          : `Endpoint ${updated.id}: dead webhooks are not announced to the agent (the dashboard and host status still show them).`,
      );
    }
    case 'remove': {
      const id = idOf('nexus endpoints remove <id>');
      await client.request('DELETE', `/v1/endpoints/${id}`);
      return print(
        { removed: target },
        () =>
          `Endpoint ${target ?? ''} removed; its URL answers 404 now. Webhooks already accepted stay in the queue.`,
      );
    }
    default:
      throw new UsageError(`unknown endpoints command "${sub}"; see nexus endpoints --help.`);
  }
}

/** `--events issues,invoice.*` as the API takes it; the API says what a bad one is. */
function eventList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function describeAction(endpoint: EndpointView): string {
  return endpoint.action.type === 'mapping'
    ? `mapping ${endpoint.action.name ?? ''}`
    : endpoint.action.type;
}

/** Left-aligned columns, as wide as their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

import { UsageError } from '@nexus/core';
import {
  AdminClient,
  CONNECTION_HELP,
  parseAdminArgs,
  helpExit,
  requireArg,
  resolveHost,
} from './admin-client.ts';
import { table } from './endpoints-command.ts';

export const WEBHOOKS_HELP = `Usage: nexus webhooks <list|show|replay> [options]

The queue of accepted webhooks: pending (waiting for the worker), leased (being delivered),
delivered, dead (gave up after the last attempt; kept for inspection and replay), paused (its
endpoint is paused: delivered on "nexus endpoints resume"), filtered (an event type its endpoint
does not deliver).

  nexus webhooks list --agent <id> [--state pending|leased|delivered|dead|paused|filtered]
                      [--limit <n>]
  nexus webhooks show <agent> <id> [--body]      details, the sender's headers; --body: the exact bytes
  nexus webhooks replay <agent> <id>             queue a delivered, dead or filtered webhook again

  --host <id>   the host of the agent (default: the only host, when there is one)

${CONNECTION_HELP}

Docs: docs/WEBHOOKS.md
`;

interface ItemView {
  id: string;
  endpointId: string;
  eventType: string;
  state: string;
  attempts: number;
  receivedAt: string;
  lastError?: string;
  bytes: number;
}

export async function webhooksCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseAdminArgs(argv, {
    agent: { type: 'string' },
    host: { type: 'string' },
    state: { type: 'string' },
    limit: { type: 'string' },
    body: { type: 'boolean' },
  });
  const [sub, agentArg, idArg] = positionals;
  const help = helpExit(values.help, sub, WEBHOOKS_HELP);
  if (help !== undefined) return help;
  const client = new AdminClient(values, env);
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const item = async (usage: string) => {
    const agent = encodeURIComponent(requireArg(agentArg, 'the agent id', usage));
    const id = encodeURIComponent(requireArg(idArg, 'the webhook id', usage));
    const host = encodeURIComponent(await resolveHost(client, values.host));
    return `/v1/hosts/${host}/agents/${agent}/webhooks/${id}`;
  };
  switch (sub) {
    case 'list': {
      const query = new URLSearchParams({
        hostId: await resolveHost(client, values.host),
        agentId: requireArg(values.agent, '--agent', 'nexus webhooks list --agent <id>'),
        limit: values.limit ?? '50',
        ...(values.state === undefined ? {} : { state: values.state }),
      });
      const page = await client.request<{ items: ItemView[]; cursor?: string }>(
        'GET',
        `/v1/webhooks?${query.toString()}`,
      );
      if (values.json) out(JSON.stringify(page, null, 2));
      else if (page.items.length === 0) out('No webhooks.');
      else
        out(
          table(
            ['id', 'endpoint', 'event', 'state', 'attempts', 'received', 'last error'],
            page.items.map((i) => [
              i.id,
              i.endpointId,
              i.eventType,
              i.state,
              String(i.attempts),
              i.receivedAt,
              (i.lastError ?? '').slice(0, 60),
            ]),
          ) + (page.cursor ? '\n(more: raise --limit, or use the API with ?cursor)' : ''),
        );
      return 0;
    }
    case 'show': {
      const path = await item('nexus webhooks show <agent> <id>');
      if (values.body) {
        process.stdout.write(await client.raw(`${path}/body`));
        return 0;
      }
      out(JSON.stringify(await client.request('GET', path), null, 2));
      return 0;
    }
    case 'replay': {
      const replayed = await client.request<ItemView>(
        'POST',
        `${await item('nexus webhooks replay <agent> <id>')}/replay`,
      );
      out(
        values.json
          ? JSON.stringify(replayed, null, 2)
          : `Webhook ${replayed.id} is pending again; the worker delivers it on its next poll.`,
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown webhooks command "${sub}"; see nexus webhooks --help.`);
  }
}

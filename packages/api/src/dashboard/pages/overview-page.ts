import { html } from 'hono/html';
import type { WebhookView } from '@nexus/core';
import { canRead } from '../../auth/access.ts';
import type { HostView } from '../../http/routes/host-routes.ts';
import type { PageContext } from '../dashboard-routes.ts';
import {
  count,
  emptyRow,
  hrefWith,
  layout,
  num,
  tableHead,
  usd,
  when,
  type Html,
} from '../page.ts';
import type { Endpoint } from '../../webhooks/endpoint.ts';
import { DEAD_COUNT_LIMIT } from '../../webhooks/dead-index.ts';

const AGENT_COLUMNS = [
  'Agent',
  num('Sessions'),
  num('Messages'),
  num('Cost this month'),
  num('Webhooks waiting'),
  num('Dead'),
];

/** Items counted per state on the overview; more shows as "200+". */
const WEBHOOK_COUNT_LIMIT = 200;

/**
 * The first page: each host with its health and its jobs' last runs, and each of its agents with
 * sessions, messages, this month's cost and webhooks waiting or dead.
 */
export async function overviewPage({ viewer, api, catalog, now }: PageContext): Promise<Html> {
  const monthStart = `${now().toISOString().slice(0, 7)}-01`;
  const [{ hosts }, { endpoints }, { sessions, usage }] = await Promise.all([
    api.get<{ hosts: HostView[] }>(viewer.principal, '/v1/hosts'),
    api.get<{ endpoints: Endpoint[] }>(viewer.principal, '/v1/endpoints'),
    catalog.sessions(),
  ]);
  const perAgent = new Map<string, { sessions: number; messages: number }>();
  for (const s of sessions) {
    if (!canRead(viewer.principal, s.hostId)) continue;
    const key = `${s.hostId}/${s.agentId}`;
    const sum = perAgent.get(key) ?? { sessions: 0, messages: 0 };
    perAgent.set(key, { sessions: sum.sessions + 1, messages: sum.messages + (s.messages ?? 0) });
  }
  const costOf = new Map<string, number>();
  let monthCost = 0;
  for (const bucket of usage) {
    if (bucket.day < monthStart || !canRead(viewer.principal, bucket.hostId)) continue;
    const key = `${bucket.hostId}/${bucket.agentId}`;
    costOf.set(key, (costOf.get(key) ?? 0) + bucket.costUsd);
    monthCost += bucket.costUsd;
  }
  const scopes = [...new Set(endpoints.map((e) => `${e.hostId}/${e.agentId}`))];
  // Waiting ones are listed (the queue's index holds nothing else); dead ones come counted with
  // the host (its dead-items index).
  const pendingCounts = new Map<string, string>();
  await Promise.all(
    scopes.map(async (key) => {
      const [hostId = '', agentId = ''] = key.split('/');
      const page = await api.get<{ items: WebhookView[]; cursor?: string }>(
        viewer.principal,
        hrefWith('/v1/webhooks', {
          hostId,
          agentId,
          state: 'pending',
          limit: String(WEBHOOK_COUNT_LIMIT),
        }),
      );
      pendingCounts.set(
        key,
        page.cursor === undefined ? String(page.items.length) : `${WEBHOOK_COUNT_LIMIT}+`,
      );
    }),
  );

  const body = html`<h1>Overview</h1>
    <p class="muted">
      This month (since ${monthStart}): ${usd(monthCost)}.
      <a href="/usage">Usage by day</a>
    </p>
    ${
      hosts.length === 0
        ? html`<div class="card">
            <p>
              No host has reported yet. Start a worker on the machine where OpenClaw runs (<code
                >nexus-worker init</code
              >, then <code>nexus-worker start</code>); see the README.
            </p>
          </div>`
        : ''
    }
    <div class="cards">
      ${hosts.map((host) =>
        hostCard(host, (agentId) => {
          const key = `${host.hostId}/${agentId}`;
          return {
            ...(perAgent.get(key) ?? { sessions: 0, messages: 0 }),
            costUsd: costOf.get(key) ?? 0,
            webhooks: webhookFigures(host, agentId, pendingCounts.get(key)),
          };
        }),
      )}
    </div>`;
  return layout({ title: 'Overview', viewer, current: '/', body });
}

/** An agent's webhooks waiting and dead; none shown for an agent without endpoints. */
function webhookFigures(
  host: HostView,
  agentId: string,
  pending: string | undefined,
): AgentFigures['webhooks'] {
  if (pending === undefined) return undefined;
  const dead = host.agents.find((agent) => agent.agentId === agentId)?.deadWebhooks ?? 0;
  // The host's dead items are counted up to a limit: past it, each agent's is "at least".
  const capped = host.status.deadWebhooks >= DEAD_COUNT_LIMIT;
  return { pending, dead: `${String(dead)}${capped && dead > 0 ? '+' : ''}` };
}

interface AgentFigures {
  sessions: number;
  messages: number;
  costUsd: number;
  webhooks: { pending: string; dead: string } | undefined;
}

function hostCard(host: HostView, figures: (agentId: string) => AgentFigures): Html {
  const lastRun = [...host.jobs].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1);
  return html`<section class="card" aria-labelledby="host-${host.hostId}">
    <h2 id="host-${host.hostId}">
      ${host.name}
      <span class="badge ${host.status.health}">${healthWord(host.status.health)}</span>
    </h2>
    <p class="muted">${host.status.reason}</p>
    <dl class="facts">
      <dt>Host id</dt>
      <dd>${host.hostId}</dd>
      <dt>Worker</dt>
      <dd>${host.workerVersion ?? '—'}</dd>
      <dt>Last upload</dt>
      <dd>${when(host.lastUploadAt)}</dd>
      <dt>Last run</dt>
      <dd>
        ${
          lastRun === undefined
            ? '—'
            : html`${lastRun.jobId}: ${lastRun.success ? 'ok' : 'failed'} at
              ${when(lastRun.finishedAt)} — ${lastRun.message}`
        }
      </dd>
    </dl>
    <div class="scroll">
      <table>
        <caption class="muted">
          Agents of ${host.name}
        </caption>
        ${tableHead(AGENT_COLUMNS)}
        <tbody>
          ${
            host.agents.length === 0
              ? emptyRow(AGENT_COLUMNS.length, 'No transcripts stored for this host yet.')
              : host.agents.map((agent) => {
                  const f = figures(agent.agentId);
                  return html`<tr>
                    <td>
                      <a
                        href="${hrefWith('/sessions', { host: host.hostId, agent: agent.agentId })}"
                        >${agent.agentId}</a
                      >
                    </td>
                    <td class="num">${count(f.sessions)}</td>
                    <td class="num">${count(f.messages)}</td>
                    <td class="num">${usd(f.costUsd)}</td>
                    <td class="num">${f.webhooks?.pending ?? '—'}</td>
                    <td class="num">
                      ${
                        f.webhooks === undefined || f.webhooks.dead === '0'
                          ? (f.webhooks?.dead ?? '—')
                          : html`<a
                              href="${hrefWith('/webhooks', {
                                host: host.hostId,
                                agent: agent.agentId,
                                state: 'dead',
                              })}"
                              >${f.webhooks.dead}</a
                            >`
                      }
                    </td>
                  </tr>`;
                })
          }
        </tbody>
      </table>
    </div>
  </section>`;
}

function healthWord(health: string): string {
  return health === 'ok' ? 'healthy' : health;
}

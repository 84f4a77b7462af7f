import { sumUsage, type Storage, type UsageBucket, type UsageTotals } from '@nexus/core';
import { listAgents, readEach, scopeUsage, type DayRange } from './session-queries.ts';

/** A usage bucket of one agent of one host. */
export interface ScopedBucket extends UsageBucket {
  readonly hostId: string;
  readonly agentId: string;
}

export interface UsageReport {
  readonly fromDay: string | null;
  readonly toDay: string | null;
  readonly hosts: readonly string[];
  readonly sessions: number;
  readonly totals: UsageTotals;
  /** Per host: its sessions and totals. The hosts' totals add up to `totals`. */
  readonly byHost: readonly {
    readonly hostId: string;
    readonly sessions: number;
    readonly totals: UsageTotals;
  }[];
  /** Per UTC day, model, host and agent. */
  readonly byDay: readonly ScopedBucket[];
}

/**
 * Usage across every host the caller may read (`includeHost`), per day, model, host and agent.
 * Each agent's usage counts each message once (as `usageSummary`); agents are disjoint, so the
 * report is their sum.
 */
export async function usageReport(
  storage: Storage,
  range: DayRange,
  includeHost: (hostId: string) => boolean,
): Promise<UsageReport> {
  const agents = (await listAgents(storage)).filter((agent) => includeHost(agent.hostId));
  const perAgent = await readEach(agents, async (agent) => {
    const scope = { hostId: agent.hostId, agentId: agent.agentId };
    return { scope, ...(await scopeUsage(storage, scope, range)) };
  });
  const byDay: ScopedBucket[] = perAgent
    .flatMap(({ scope, byDay: buckets }) => buckets.map((bucket) => ({ ...bucket, ...scope })))
    .sort(
      (a, b) =>
        a.day.localeCompare(b.day) ||
        a.hostId.localeCompare(b.hostId) ||
        a.agentId.localeCompare(b.agentId) ||
        a.model.localeCompare(b.model),
    );
  const hosts = [...new Set(agents.map((agent) => agent.hostId))].sort();
  const byHost = hosts.map((hostId) => {
    const mine = perAgent.filter(({ scope }) => scope.hostId === hostId);
    return {
      hostId,
      sessions: mine.reduce((sum, agent) => sum + agent.sessions, 0),
      totals: sumUsage(mine.flatMap((agent) => agent.byDay)),
    };
  });
  return {
    fromDay: range.fromDay ?? null,
    toDay: range.toDay ?? null,
    hosts,
    sessions: byHost.reduce((sum, host) => sum + host.sessions, 0),
    totals: sumUsage(byDay),
    byHost,
    byDay,
  };
}

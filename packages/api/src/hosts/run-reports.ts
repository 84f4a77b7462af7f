import { queryAll, type RunReport, type Storage } from '@nexus/core';
import { HOSTS_PARTITION } from './host-rows.ts';

/**
 * The last run of each job of each host, as its worker reported it (`hostRuns`, PK `host`, RK
 * `<host>|<job id>`): replaced by every report, so it holds one row per job. One partition for all
 * hosts: a report a job run, minutes apart, is far below what a partition takes.
 */
export async function saveRunReport(
  storage: Storage,
  hostId: string,
  report: RunReport,
  receivedAt: Date,
): Promise<void> {
  await storage.tables.upsert('hostRuns', {
    partitionKey: HOSTS_PARTITION,
    rowKey: `${hostId}|${report.jobId}`,
    properties: { json: JSON.stringify(report), receivedAt: receivedAt.toISOString() },
  });
}

/** Each host's reported runs (of one host, when named), newest report per job. */
export async function listRunReports(
  storage: Storage,
  hostId?: string,
): Promise<Map<string, RunReport[]>> {
  const byHost = new Map<string, RunReport[]>();
  const range = hostId === undefined ? {} : { rowKeyFrom: `${hostId}|`, rowKeyTo: `${hostId}}` };
  for await (const row of queryAll(storage.tables, 'hostRuns', HOSTS_PARTITION, range)) {
    const hostId = row.rowKey.slice(0, row.rowKey.indexOf('|'));
    const report = JSON.parse(String(row.properties['json'])) as RunReport;
    byHost.set(hostId, [...(byHost.get(hostId) ?? []), report]);
  }
  return byHost;
}

import { z } from 'zod';
import {
  ForbiddenError,
  MAX_REPORTED_ERRORS,
  validateHostId,
  type RunReport,
  type Storage,
} from '@nexus/core';
import { authorize, canAct, canRead } from '../../auth/access.ts';
import { describePrincipal } from '../../auth/principal.ts';
import {
  MAX_HOST_NAME_LENGTH,
  announceHost,
  listHostRows,
  noteHost,
  requireHost,
  type HostRow,
} from '../../hosts/host-rows.ts';
import { hostStatus, type HostStatus } from '../../hosts/host-status.ts';
import { countDead, NO_DEAD, type DeadCount } from '../../webhooks/dead-index.ts';
import { listRunReports, saveRunReport } from '../../hosts/run-reports.ts';
import { listAgents, type AgentInfo } from '../../transcripts/session-queries.ts';
import type { NexusApp } from '../app-env.ts';
import { readJsonAs } from '../json-body.ts';
import { route } from '../route-table.ts';

export interface HostRouteDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  /** A host not heard from for longer than this is `silent` (`NEXUS_HOST_SILENT_MINUTES`). */
  readonly silentMs: number;
}

/** A host as `GET /v1/hosts` shows it. */
export interface HostView extends HostRow {
  readonly lastUploadAt: string | null;
  readonly agents: readonly {
    readonly agentId: string;
    readonly lastReceivedAt: string;
    /** Its webhooks that went dead and wait for a replay (of the host's first 200 dead). */
    readonly deadWebhooks: number;
  }[];
  /** Each job's last run, as the worker reported it. */
  readonly jobs: readonly RunReport[];
  readonly status: HostStatus;
}

/** Printable text (tabs and newlines allowed) of at most `max` characters. */
const text = (max: number) =>
  z
    .string()
    .max(max)
    // eslint-disable-next-line no-control-regex -- control characters are what is refused here
    .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'must be printable');

const announceSchema = z
  .object({
    name: text(MAX_HOST_NAME_LENGTH).min(1).optional(),
    workerVersion: z
      .string()
      .regex(/^[0-9A-Za-z.+-]{1,40}$/, 'must be a version such as 0.3.0')
      .optional(),
  })
  .strict();

const runSchema = z
  .object({
    jobId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a job id, e.g. "session-upload"'),
    type: z.string().regex(/^[a-z0-9_]{1,64}$/, 'must be a job type, e.g. "session_upload"'),
    startedAt: z.iso.datetime({ offset: true }),
    finishedAt: z.iso.datetime({ offset: true }),
    success: z.boolean(),
    message: text(1000),
    counts: z
      .record(z.string().max(64), z.number().int().min(0))
      .refine((counts) => Object.keys(counts).length <= 50, 'at most 50 counts'),
    errors: z
      .array(z.object({ item: text(500), message: text(1000) }).strict())
      .max(MAX_REPORTED_ERRORS),
    errorCount: z.number().int().min(0),
  })
  .strict();

/**
 * The hosts Nexus serves: list, one, a worker announcing its host at start, and its runs' reports
 * (what tells whether the host's backups can be relied on: `hosts/host-status.ts`).
 */
export function hostRoutes(app: NexusApp, deps: HostRouteDeps): void {
  const { storage } = deps;

  const view = (
    host: HostRow,
    agents: readonly AgentInfo[],
    runs: readonly RunReport[],
    dead: DeadCount,
  ) => {
    const mine = agents
      .filter((agent) => agent.hostId === host.hostId)
      .map(({ agentId, lastReceivedAt }) => ({
        agentId,
        lastReceivedAt,
        deadWebhooks: dead.byAgent[agentId] ?? 0,
      }));
    const lastUploadAt =
      mine
        .map((agent) => agent.lastReceivedAt)
        .sort()
        .at(-1) ?? null;
    const jobs = [...runs].sort((a, b) => a.jobId.localeCompare(b.jobId));
    const status = hostStatus(
      [host.announcedAt, host.lastClaimAt, lastUploadAt],
      jobs,
      deps.now().getTime(),
      deps.silentMs,
      dead,
    );
    return { ...host, lastUploadAt, agents: mine, jobs, status } satisfies HostView;
  };
  const viewOne = async (host: HostRow) => {
    const [agents, runs, dead] = await Promise.all([
      listAgents(storage, host.hostId),
      listRunReports(storage, host.hostId),
      countDead(storage.tables, host.hostId, deps.now().getTime()),
    ]);
    return view(host, agents, runs.get(host.hostId) ?? [], dead);
  };

  route(app, '/v1/hosts', {
    GET: async (c) => {
      const principal = c.get('principal');
      const visible = (hostId: string) => canRead(principal, hostId) || canAct(principal, hostId);
      const [hosts, agents, runs] = await Promise.all([
        listHostRows(storage),
        listAgents(storage),
        listRunReports(storage),
      ]);
      const shown = hosts.filter((host) => visible(host.hostId));
      const dead = await Promise.all(
        shown.map((host) => countDead(storage.tables, host.hostId, deps.now().getTime())),
      );
      return c.json({
        hosts: shown.map((host, index) =>
          view(host, agents, runs.get(host.hostId) ?? [], dead[index] ?? NO_DEAD),
        ),
      });
    },
  });

  route(app, '/v1/hosts/:hostId', {
    GET: async (c) => {
      const hostId = validateHostId(c.req.param('hostId') ?? '');
      const principal = c.get('principal');
      if (!canRead(principal, hostId) && !canAct(principal, hostId))
        throw new ForbiddenError(
          'forbidden_for_key',
          `This request reads host ${hostId}, which needs an admin key, a reader key of host ${hostId} or its worker key; it was sent with ${describePrincipal(principal)}.`,
        );
      return c.json(await viewOne(await requireHost(storage, hostId)));
    },
    PUT: async (c) => {
      const hostId = validateHostId(c.req.param('hostId') ?? '');
      authorize(c.get('principal'), { kind: 'act', hostId, what: `announces host ${hostId}` });
      const said = await readJsonAs(c, announceSchema, 'invalid_host');
      const host = await announceHost(
        storage,
        hostId,
        {
          ...(said.name === undefined ? {} : { name: said.name }),
          ...(said.workerVersion === undefined ? {} : { workerVersion: said.workerVersion }),
        },
        deps.now(),
      );
      return c.json(await viewOne(host));
    },
  });

  route(app, '/v1/hosts/:hostId/runs', {
    POST: async (c) => {
      const hostId = validateHostId(c.req.param('hostId') ?? '');
      authorize(c.get('principal'), {
        kind: 'act',
        hostId,
        what: `reports a run of host ${hostId}`,
      });
      const report = await readJsonAs(c, runSchema, 'invalid_run');
      // A worker that reports before it ever announced (a --job run from cron) makes its host known.
      await noteHost(storage, hostId, deps.now().toISOString());
      await saveRunReport(storage, hostId, report, deps.now());
      return c.body(null, 204);
    },
  });
}

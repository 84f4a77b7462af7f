import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { buildTranscript } from '@nexus/core/testing';
import { createOpenClawFixture } from '../src/testing/openclaw-fixture.ts';
import { GatewayStandIn } from '../src/testing/gateway-stand-in.ts';

/**
 * Two OpenClaw machines, one Nexus: a laptop and a server whose OpenClaw folder is a copy of the
 * laptop's (the usual migration), so both have agent `main` and the same session ids. Each worker
 * runs as a process with its own home folder, as on two machines; one enrols with a one-time code,
 * the other with an admin key. On each storage backend.
 */
const ADMIN_KEY = 'two-hosts-admin-key-0123456789';
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const HOOKS_TOKEN = 'two-hosts-hooks-token';

interface Machine {
  readonly hostId: string;
  readonly home: string;
  readonly stateDir: string;
}

function worker(machine: Machine, args: readonly string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, HOME: machine.home, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr });
      },
    );
  });
}

const backendsUnderTest = [
  { name: 'embedded', env: (): Record<string, string> => ({}) },
  {
    name: 'azure (Azurite)',
    env: (): Record<string, string> => ({
      NEXUS_STORAGE: 'azure',
      AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      NEXUS_AZURE_CONTAINER: `two-${randomBytes(4).toString('hex')}`,
      NEXUS_AZURE_TABLE_PREFIX: `t${randomBytes(4).toString('hex')}`,
    }),
  },
];

describe.each(backendsUnderTest)('two hosts, one Nexus, on $name storage', (backend) => {
  let server: ServerProcess;
  let laptop: Machine;
  let copy: Machine;
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-two-api-')), {
      NEXUS_API_KEYS: ADMIN_KEY,
      ...backend.env(),
    });
    const root = await mkdtemp(join(tmpdir(), 'nexus-two-'));
    laptop = {
      hostId: 'laptop',
      home: join(root, 'laptop'),
      stateDir: join(root, 'laptop', '.openclaw'),
    };
    copy = {
      hostId: 'server',
      home: join(root, 'server'),
      stateDir: join(root, 'server', '.openclaw'),
    };
    await createOpenClawFixture(laptop.stateDir);
    await mkdir(copy.home, { recursive: true });
    await cp(laptop.stateDir, copy.stateDir, { recursive: true, preserveTimestamps: true });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('enrols both, keeps their sessions apart, and counts each host’s usage', async () => {
    // The laptop with a one-time code, the server with an admin key from the environment.
    const made = await admin('POST', '/v1/enrolments', { hostId: 'laptop' });
    const { code } = (await made.json()) as { code: string };
    const enrolled = await worker(laptop, ['enrol', '--url', server.url, '--code', code]);
    expect(enrolled.stderr).toBe('');
    expect(enrolled.stdout).toMatch(/Enrolled as host laptop/);
    const config = join(laptop.home, '.nexus', 'worker.json');
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(config, 'utf8'))).toMatchObject({
      host: { id: 'laptop' },
      nexus: { url: server.url, apiKey: expect.stringMatching(/^nxk_/) as unknown },
    });
    expect(
      (
        await worker(
          copy,
          ['enrol', '--url', server.url, '--admin-key-env', 'THE_ADMIN_KEY', '--host', 'server'],
          { THE_ADMIN_KEY: ADMIN_KEY },
        )
      ).stdout,
    ).toMatch(/Enrolled as host server/);
    // A code works once.
    const reused = await worker(laptop, ['enrol', '--url', server.url, '--code', code]);
    expect(reused.code).not.toBe(0);
    expect(reused.stderr).toMatch(/a code works once/);

    // The server also has a session of its own.
    const extraId = randomUUID();
    const extra = buildTranscript({ sessionId: extraId, turns: 6, idPrefix: 'x' });
    const extraPath = join(
      copy.stateDir,
      'agents',
      'main',
      'sessions',
      `${extraId}.jsonl.deleted.2026-11-30T10-00-00.000Z`,
    );
    await writeFile(extraPath, extra.text);

    for (const machine of [laptop, copy]) {
      const run = await worker(machine, ['--job', 'session-upload']);
      expect(run.code, run.stderr).toBe(0);
    }

    const { hosts } = (await (await admin('GET', '/v1/hosts')).json()) as {
      hosts: {
        hostId: string;
        agents: { agentId: string }[];
        jobs: { jobId: string; success: boolean; counts: Record<string, number> }[];
        status: { health: string };
      }[];
    };
    // Each worker reported its run: the hosts' backups are known to be working.
    for (const host of hosts) {
      expect(host.status.health, host.hostId).toBe('ok');
      expect(host.jobs.map((job) => [job.jobId, job.success])).toEqual([['session-upload', true]]);
      expect(host.jobs[0]?.counts['uploaded']).toBeGreaterThan(0);
    }
    expect(hosts.map((h) => [h.hostId, h.agents.map((a) => a.agentId).sort()])).toEqual([
      ['laptop', ['main', 'work']],
      ['server', ['main', 'work']],
    ]);
    const sessionsOf = async (hostId: string, agentId: string) =>
      (
        (await (
          await admin('GET', `/v1/hosts/${hostId}/agents/${agentId}/sessions?limit=1000`)
        ).json()) as {
          sessions: { sessionId: string; hostId: string }[];
        }
      ).sessions;
    const laptopMain = (await sessionsOf('laptop', 'main')).map((s) => s.sessionId).sort();
    const serverMain = (await sessionsOf('server', 'main')).map((s) => s.sessionId).sort();
    expect(laptopMain.length).toBeGreaterThan(0);
    // The same session ids on both hosts are two records, not one.
    expect(serverMain).toEqual([...laptopMain, extraId].sort());
    expect((await sessionsOf('server', 'main')).every((s) => s.hostId === 'server')).toBe(true);

    const usage = (await (await admin('GET', '/v1/usage')).json()) as {
      totals: { output: number };
      byHost: { hostId: string; totals: { output: number } }[];
    };
    const output = (hostId: string) =>
      usage.byHost.find((h) => h.hostId === hostId)?.totals.output ?? -1;
    expect(output('server')).toBe(output('laptop') + extra.expected.output);
    expect(usage.totals.output).toBe(output('laptop') + output('server'));

    // The worker key of one host cannot read or upload as the other.
    const laptopKey = (JSON.parse(await readFile(config, 'utf8')) as { nexus: { apiKey: string } })
      .nexus.apiKey;
    const crossed = await fetch(`${server.url}/v1/hosts/server/agents/main/sessions`, {
      headers: { authorization: `Bearer ${laptopKey}` },
    });
    expect(crossed.status).toBe(403);
  }, 120_000);

  it('delivers each host’s webhooks by that host’s worker only, with both running', async () => {
    const gateways = new Map<string, GatewayStandIn>();
    const workers: ChildProcess[] = [];
    try {
      for (const machine of [laptop, copy]) {
        const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
        await gateway.start();
        gateways.set(machine.hostId, gateway);
        const path = join(machine.home, '.nexus', 'worker.json');
        const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
        await writeFile(
          path,
          JSON.stringify({
            ...config,
            jobs: [
              {
                id: 'webhooks',
                type: 'webhook_delivery',
                intervalMinutes: 1,
                config: {
                  agents: ['main'],
                  gateway: { url: gateway.url, token: HOOKS_TOKEN },
                  pollSeconds: 0.2,
                },
              },
            ],
          }),
        );
        const created = await admin('POST', '/v1/endpoints', {
          id: `ep-${machine.hostId}`,
          hostId: machine.hostId,
          agentId: 'main',
          provider: 'token',
          header: 'x-token',
          secrets: [`token-of-${machine.hostId}`],
        });
        expect(created.status).toBe(201);
        workers.push(
          spawn(process.execPath, [CLI], {
            env: { ...process.env, HOME: machine.home },
            stdio: 'ignore',
          }),
        );
      }
      const sent = new Map<string, string[]>([
        ['laptop', []],
        ['server', []],
      ]);
      for (let n = 0; n < 10; n += 1) {
        for (const hostId of ['laptop', 'server']) {
          const response = await fetch(`${server.url}/hooks/ep-${hostId}`, {
            method: 'POST',
            headers: { 'x-token': `token-of-${hostId}`, 'content-type': 'application/json' },
            body: JSON.stringify({ hostId, n }),
          });
          expect(response.status).toBe(202);
          sent.get(hostId)?.push(((await response.json()) as { id: string }).id);
        }
      }
      const deadline = Date.now() + 30_000;
      while (
        [...gateways.values()].reduce((sum, g) => sum + g.runs.size, 0) < 20 &&
        Date.now() < deadline
      )
        await new Promise((resolve) => setTimeout(resolve, 50));
      for (const [hostId, gateway] of gateways) {
        expect(new Set(gateway.runs.keys()), hostId).toEqual(new Set(sent.get(hostId)));
        for (const hit of gateway.hits)
          expect(hit.body['name']).toBe(`webhook sender (ep-${hostId})`);
      }
    } finally {
      for (const child of workers) child.kill('SIGTERM');
      for (const gateway of gateways.values()) await gateway.stop();
    }
  }, 90_000);
});

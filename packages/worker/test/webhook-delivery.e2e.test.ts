import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { GatewayStandIn } from '../src/testing/gateway-stand-in.ts';
import { runWorkerJob } from '../src/testing/worker-harness.ts';

const KEY = 'webhook-e2e-key-0123456789';
const HOOKS_TOKEN = 'gateway-hooks-token';
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

interface Item {
  id: string;
  state: string;
  replays?: number;
  attempts: number;
  lastError?: string;
  lastStatus?: number;
}

/** The API, its key and helpers to configure endpoints and send signed GitHub deliveries. */
function nexus(server: ServerProcess) {
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  return {
    async endpoint(body: Record<string, unknown>): Promise<string> {
      const response = await fetch(`${server.url}/v1/endpoints`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ provider: 'github', ...body }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { secrets: string[] }).secrets[0] ?? '';
    },
    /** Sends one signed `issues` delivery; returns the accepted item id. */
    async send(endpointId: string, secret: string, number: number, pad = 0): Promise<string> {
      const payload = JSON.stringify({
        action: 'opened',
        repository: { full_name: 'acme/app' },
        sender: { login: 'ana' },
        issue: { number, title: `Issue ${number}`, body: 'x'.repeat(pad) },
      });
      const response = await fetch(`${server.url}/hooks/${endpointId}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issues',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': await sign(secret, payload),
        },
        body: payload,
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    },
    async items(agentId: string, state: string): Promise<Item[]> {
      const response = await fetch(
        `${server.url}/v1/webhooks?agentId=${agentId}&state=${state}&limit=200`,
        { headers },
      );
      return ((await response.json()) as { items: Item[] }).items;
    },
    async item(agentId: string, id: string): Promise<Item> {
      return (await (
        await fetch(`${server.url}/v1/webhooks/${agentId}/${id}`, { headers })
      ).json()) as Item;
    },
    async replay(agentId: string, id: string): Promise<number> {
      return (
        await fetch(`${server.url}/v1/webhooks/${agentId}/${id}/replay`, {
          method: 'POST',
          headers,
        })
      ).status;
    },
  };
}

async function workerConfig(
  server: ServerProcess,
  gateway: GatewayStandIn,
  agentId: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-wh-worker-'));
  const path = join(dir, 'worker.json');
  await writeFile(
    path,
    JSON.stringify({
      nexus: { url: server.url, apiKey: KEY },
      openclaw: { stateDir: join(dir, 'openclaw') },
      stateDir: join(dir, 'worker-state'),
      jobs: [
        {
          id: 'webhooks',
          type: 'webhook_delivery',
          intervalMinutes: 1,
          config: {
            agents: [agentId],
            gateway: { url: gateway.url, token: HOOKS_TOKEN },
            pollSeconds: 0.2,
            leaseSeconds: 10,
            batchSize: 5,
            ...extra,
          },
        },
      ],
    }),
  );
  return path;
}

/** The worker's scheduler as a separate process, as systemd runs it. */
function startWorker(configPath: string): {
  child: ChildProcess;
  exited: Promise<unknown>;
  output: string[];
} {
  const child = spawn(process.execPath, [CLI, '--config', configPath], {
    env: { ...process.env, NEXUS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)), output };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('webhooks from the sender to the OpenClaw gateway, over real sockets', () => {
  let server: ServerProcess;
  let api: ReturnType<typeof nexus>;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-wh-api-')), {
      NEXUS_API_KEYS: KEY,
      NEXUS_WEBHOOK_MAX_ATTEMPTS: '2',
      NEXUS_WEBHOOK_RETRY_BASE_SECONDS: '1',
    });
    api = nexus(server);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('delivers every accepted webhook exactly once across gateway downtime and a SIGKILL of the worker', async () => {
    const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const secret = await api.endpoint({ id: 'gh-e2e', agentId: 'e2e' });
    const accepted: string[] = [];
    for (let n = 1; n <= 30; n += 1) accepted.push(await api.send('gh-e2e', secret, n));
    const config = await workerConfig(server, gateway, 'e2e');

    // 1. The worker delivers, four at a time; it is SIGKILLed while the gateway holds the 8th
    //    request, unanswered: the requests in flight reached the gateway but were never settled,
    //    and more of the batch were claimed.
    const first = startWorker(config);
    gateway.onHit = () => {
      if (gateway.runs.size === 8) first.child.kill('SIGKILL');
    };
    await first.exited;
    gateway.onHit = undefined;
    const beforeDowntime = gateway.runs.size;
    expect(beforeDowntime).toBeGreaterThanOrEqual(8);
    expect((await api.items('e2e', 'leased')).length).toBeGreaterThan(0);
    // Each item was reported as soon as the gateway answered it: all but the (at most four) in
    // flight at the gateway and the (at most eight) answered ones whose report was under way.
    const settledFirst = new Set((await api.items('e2e', 'delivered')).map((item) => item.id));
    expect(settledFirst.size).toBeGreaterThanOrEqual(beforeDowntime - 12);
    expect(settledFirst.size).toBeLessThan(beforeDowntime);

    // 2. The gateway goes down; more webhooks arrive; a new worker finds the gateway unreachable.
    await gateway.stop();
    for (let n = 31; n <= 40; n += 1) accepted.push(await api.send('gh-e2e', secret, n));
    const second = startWorker(config);
    cleanups.push(async () => {
      second.child.kill('SIGTERM');
      await second.exited;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(gateway.runs.size).toBe(beforeDowntime);
    expect(await api.items('e2e', 'dead')).toEqual([]);

    // 3. The gateway comes back on its port: everything arrives, once per idempotency key.
    await gateway.start();
    await waitFor(
      'every webhook at the gateway',
      () => gateway.runs.size === accepted.length,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker output:\n${second.output.join('')}`);
    });
    await waitFor(
      'every webhook settled as delivered',
      async () => (await api.items('e2e', 'delivered')).length === accepted.length,
    );
    expect(new Set(gateway.runs.keys())).toEqual(new Set(accepted));
    // Only the items in flight when the worker was killed were sent twice (same key), after their
    // lease ran out: the ones that reached the gateway unsettled, never one settled before.
    // (At most four at the gateway, and eight answered whose report had not reached the API.)
    const sent = new Map<string, number>();
    for (const hit of gateway.hits) {
      const key = String(hit.body['idempotencyKey']);
      sent.set(key, (sent.get(key) ?? 0) + 1);
    }
    const twice = [...sent].filter(([, times]) => times > 1).map(([key]) => key);
    expect(twice.length).toBeGreaterThanOrEqual(1);
    expect(twice.length).toBeLessThanOrEqual(12);
    expect(twice.filter((key) => settledFirst.has(key))).toEqual([]);
    expect(Math.max(...sent.values())).toBe(2);
    expect(await api.items('e2e', 'dead')).toEqual([]);
    expect(await api.items('e2e', 'pending')).toEqual([]);

    const hit = gateway.runs.get(accepted[0] ?? '');
    expect(hit?.path).toBe('/hooks/agent');
    expect(hit?.headers.authorization).toBe(`Bearer ${HOOKS_TOKEN}`);
    expect(hit?.body).toMatchObject({ agentId: 'e2e', name: 'GitHub (gh-e2e)' });
    expect(hit?.body['message']).toContain('GitHub issue #1 opened in acme/app by ana: "Issue 1"');
    expect(hit?.body['message']).toContain('<<<EXTERNAL_UNTRUSTED_CONTENT>>>');
  }, 90_000);

  it('delivers a replay as a new run under a key of its own, marked as a replay', async () => {
    const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const secret = await api.endpoint({ id: 'gh-replay', agentId: 'replay' });
    const id = await api.send('gh-replay', secret, 7);
    const config = await workerConfig(server, gateway, 'replay');
    expect((await runWorkerJob(config, [], 'webhooks')).code).toBe(0);
    expect(await api.replay('replay', id)).toBe(200);
    expect((await runWorkerJob(config, [], 'webhooks')).code).toBe(0);
    // Within OpenClaw's 5 minutes, the first key again would have started no run.
    expect([...gateway.runs.keys()]).toEqual([id, `${id}:replay-1`]);
    expect(gateway.runs.get(`${id}:replay-1`)?.body['message']).toContain('This is a replay');
    expect(await api.item('replay', id)).toMatchObject({ state: 'delivered', replays: 1 });
  }, 60_000);

  it('reaches a running gateway within seconds of being accepted', async () => {
    const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const secret = await api.endpoint({ id: 'gh-fast', agentId: 'fast', action: 'wake' });
    const worker = startWorker(await workerConfig(server, gateway, 'fast'));
    cleanups.push(async () => {
      worker.child.kill('SIGTERM');
      await worker.exited;
    });
    await api.send('gh-fast', secret, 1); // the worker is up once this one arrives
    await waitFor('the first wake', () => gateway.hits.length === 1);
    const sentAt = Date.now();
    await api.send('gh-fast', secret, 2);
    await waitFor('the second wake', () => gateway.hits.length === 2, 10_000);
    // pollSeconds is 0.2 here; the bound is loose because CI machines are shared.
    expect(gateway.hits[1]?.at ?? Infinity).toBeLessThan(sentAt + 5000);
    expect(gateway.hits[1]?.path).toBe('/hooks/wake');
    expect(gateway.hits[1]?.body['text']).toContain('GitHub issue #2 opened');
  }, 60_000);

  it('stands a notice in for a webhook over the gateway’s body limit, and dead-letters one for a missing mapping at once', async () => {
    // The gateway takes 4 KiB; the worker believes the default 256 KiB, as when openclaw.json's
    // hooks.maxBodyBytes is lowered without the worker knowing.
    const gateway = new GatewayStandIn({ token: HOOKS_TOKEN, maxBodyBytes: 4096, mappings: [] });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const secret = await api.endpoint({ id: 'gh-large', agentId: 'large' });
    const big = await api.send('gh-large', secret, 1, 20_000);
    const mapped = await api.endpoint({
      id: 'gh-mapped',
      agentId: 'large',
      action: 'mapping',
      mapping: 'not-configured',
    });
    const lost = await api.send('gh-mapped', mapped, 2);
    const run = await runWorkerJob(await workerConfig(server, gateway, 'large'), [], 'webhooks');
    expect(run.code).toBe(0);
    const notice = gateway.runs.get(big);
    expect(notice?.headers['x-nexus-notice']).toBe('body-too-large');
    expect(notice?.body['message']).toContain(
      `nexus webhooks show large ${big} --host default --body`,
    );
    expect(await api.item('large', big)).toMatchObject({ state: 'delivered', lastStatus: 200 });
    // No retries for a hook the gateway does not have: dead after one attempt, saying why.
    expect(await api.item('large', lost)).toMatchObject({
      state: 'dead',
      attempts: 1,
      lastStatus: 404,
      lastError: expect.stringMatching(
        /no such hook \(404: no mapping not-configured\).*hooks\.mappings/,
      ) as unknown,
    });
  }, 60_000);

  it('delivers a webhook the moment it is accepted, waiting on the API rather than polling', async () => {
    const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const secret = await api.endpoint({ id: 'gh-held', agentId: 'held', action: 'wake' });
    // Polling once a minute: only a claim held open by the API explains a fast delivery.
    const worker = startWorker(await workerConfig(server, gateway, 'held', { pollSeconds: 60 }));
    cleanups.push(async () => {
      worker.child.kill('SIGTERM');
      await worker.exited;
    });
    await api.send('gh-held', secret, 1); // the worker is up once this one arrives
    await waitFor('the first wake', () => gateway.hits.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 500)); // its claim is waiting again
    const latencies: number[] = [];
    for (let n = 2; n <= 6; n += 1) {
      const sentAt = Date.now();
      await api.send('gh-held', secret, n);
      await waitFor(`wake ${String(n)}`, () => gateway.hits.length === n, 10_000);
      latencies.push((gateway.hits[n - 1]?.at ?? Infinity) - sentAt);
    }
    // Each within moments of being accepted (typically a few ms), never a poll interval (60 s).
    expect(Math.max(...latencies)).toBeLessThan(3000);
  }, 60_000);

  it('pauses on 429 and honours Retry-After without spending attempts', async () => {
    const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const secret = await api.endpoint({ id: 'gh-busy', agentId: 'busy' });
    const id = await api.send('gh-busy', secret, 1);
    const config = await workerConfig(server, gateway, 'busy');
    gateway.busySeconds = 2;
    const busy = await runWorkerJob(config, [], 'webhooks');
    expect(busy.code).toBe(0);
    expect(gateway.busyAnswers).toBe(1);
    expect(await api.item('busy', id)).toMatchObject({ state: 'pending', attempts: 0 });
    gateway.busySeconds = 0;
    const early = await runWorkerJob(config, [], 'webhooks');
    expect(gateway.runs.size).toBe(0); // Retry-After (2 s) has not passed: nothing was due
    expect(early.code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await runWorkerJob(config, [], 'webhooks');
    expect([...gateway.runs.keys()]).toEqual([id]);
    expect(await api.item('busy', id)).toMatchObject({ state: 'delivered', lastStatus: 200 });
  }, 60_000);

  it('delivers a notice for a mapping webhook over the gateway’s limit, and the whole body on a replay once the limit is raised', async () => {
    const small = new GatewayStandIn({ token: HOOKS_TOKEN, maxBodyBytes: 4096, mappings: ['gh'] });
    await small.start();
    cleanups.push(() => small.stop());
    const secret = await api.endpoint({
      id: 'gh-big',
      agentId: 'big',
      action: 'mapping',
      mapping: 'gh',
    });
    const id = await api.send('gh-big', secret, 1, 8000);
    const config = await workerConfig(server, small, 'big', {
      gateway: { url: small.url, token: HOOKS_TOKEN, maxBodyBytes: 4096 },
    });
    const first = await runWorkerJob(config, [], 'webhooks');
    expect(first.code).toBe(0);
    // The body went nowhere; a notice naming it went to the mapping instead: nothing is lost.
    expect(small.hits.map((hit) => hit.path)).toEqual(['/hooks/gh']);
    expect(JSON.parse(small.hits[0]?.rawBody ?? '{}')).toMatchObject({
      webhookId: id,
      nexusNotice: expect.stringContaining('larger than this gateway accepts') as unknown,
    });
    expect(await api.item('big', id)).toMatchObject({ state: 'delivered', attempts: 1 });

    await small.stop();
    const roomy = new GatewayStandIn({ token: HOOKS_TOKEN, port: 0, mappings: ['gh'] });
    await roomy.start();
    cleanups.push(() => roomy.stop());
    expect(await api.replay('big', id)).toBe(200);
    await runWorkerJob(await workerConfig(server, roomy, 'big'), [], 'webhooks');
    expect(roomy.hits.map((hit) => hit.path)).toEqual(['/hooks/gh']);
    expect(JSON.parse(roomy.hits[0]?.rawBody ?? '{}')).toMatchObject({ issue: { number: 1 } });
    expect(await api.item('big', id)).toMatchObject({ state: 'delivered', lastStatus: 202 });
  }, 60_000);

  it('with --job and the gateway down: exits 1, says so, and keeps the webhook, attempts unspent', async () => {
    const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
    await gateway.start();
    await gateway.stop(); // a port that was just free: nothing listens there now
    const secret = await api.endpoint({ id: 'gh-down', agentId: 'down' });
    const id = await api.send('gh-down', secret, 1);
    const run = await runWorkerJob(await workerConfig(server, gateway, 'down'), [], 'webhooks');
    expect(run.code).toBe(1);
    expect(run.lines.some((line) => /the gateway is unreachable/.test(line.msg ?? ''))).toBe(true);
    expect(await api.item('down', id)).toMatchObject({ state: 'pending', attempts: 0 });
  }, 60_000);

  it('reports a refused hooks token clearly and keeps the webhook, attempts unspent', async () => {
    const gateway = new GatewayStandIn({ token: 'the-real-token' });
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const secret = await api.endpoint({ id: 'gh-token', agentId: 'token' });
    const id = await api.send('gh-token', secret, 1);
    const run = await runWorkerJob(await workerConfig(server, gateway, 'token'), [], 'webhooks');
    expect(run.code).toBe(1);
    expect(run.lines.some((line) => /refused the hooks token \(401/.test(line.msg ?? ''))).toBe(
      true,
    );
    expect(await api.item('token', id)).toMatchObject({ state: 'pending', attempts: 0 });
  }, 60_000);
});

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { openEmbeddedStorage, type NexusApp } from '@nexus/api';
import {
  API_KEY,
  NOW,
  backends,
  get,
  putTranscript,
  testApp,
  useBackend,
} from '@nexus/api/testing';
import { buildTranscript } from '@nexus/core/testing';
import type { Storage } from '@nexus/core';

const REPORT = {
  jobId: 'session-upload',
  type: 'session_upload',
  startedAt: '2026-11-25T11:59:00.000Z',
  finishedAt: '2026-11-25T11:59:30.000Z',
  success: true,
  message: 'uploaded 3 of 3',
  counts: { uploaded: 3 },
  errors: [],
  errorCount: 0,
};

interface CreatedKey {
  readonly key: string;
  readonly keyId: string;
  readonly role: string;
}

function send(app: NexusApp, method: string, path: string, key: string | null, body?: unknown) {
  return app.request(path, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function createKey(app: NexusApp, body: object): Promise<CreatedKey> {
  const response = await send(app, 'POST', '/v1/keys', API_KEY, body);
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedKey;
}

describe.each(backends(inject('azuriteConnectionString')))(
  'hosts and keys on $name storage',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));

    it('keeps two hosts apart though their agent and a session id are the same, and sums their usage', async () => {
      const laptop = await createKey(app, { role: 'worker', hostId: 'laptop' });
      const server = await createKey(app, { role: 'worker', hostId: 'server' });
      // The same session id on both machines (an OpenClaw folder copied over): two records.
      const onLaptop = buildTranscript({ sessionId: 'copied', turns: 3, idPrefix: 'l' });
      const onServer = buildTranscript({ sessionId: 'copied', turns: 5, idPrefix: 's' });
      const laptopOnly = buildTranscript({ sessionId: 'only-laptop', turns: 2, model: 'gpt-5' });
      for (const [hostId, key, built] of [
        ['laptop', laptop.key, onLaptop],
        ['server', server.key, onServer],
        ['laptop', laptop.key, laptopOnly],
      ] as const) {
        const sessionId = built === laptopOnly ? 'only-laptop' : 'copied';
        const response = await putTranscript(app, built.text, built.text, {
          hostId,
          sessionId,
          key,
        });
        expect(response.status).toBe(201);
      }

      const hosts = (await (await get(app, '/v1/hosts')).json()) as {
        hosts: { hostId: string; agents: { agentId: string }[]; lastUploadAt: string | null }[];
      };
      expect(
        hosts.hosts
          .filter((h) => ['laptop', 'server'].includes(h.hostId))
          .map((h) => [h.hostId, h.agents.map((a) => a.agentId), h.lastUploadAt]),
      ).toEqual([
        ['laptop', ['main'], NOW.toISOString()],
        ['server', ['main'], NOW.toISOString()],
      ]);

      const sessionsOf = async (hostId: string) =>
        (
          (await (await get(app, `/v1/hosts/${hostId}/agents/main/sessions`)).json()) as {
            sessions: { sessionId: string; hostId: string; costUsd: number }[];
          }
        ).sessions;
      expect((await sessionsOf('laptop')).map((s) => s.sessionId).sort()).toEqual([
        'copied',
        'only-laptop',
      ]);
      expect((await sessionsOf('server')).map((s) => [s.hostId, s.sessionId])).toEqual([
        ['server', 'copied'],
      ]);
      const copiedOn = async (hostId: string) =>
        (
          (await (await get(app, `/v1/hosts/${hostId}/agents/main/sessions/copied`)).json()) as {
            session: { costUsd: number; tokens: { output: number } };
          }
        ).session;
      expect((await copiedOn('laptop')).tokens.output).toBe(onLaptop.expected.output);
      expect((await copiedOn('server')).tokens.output).toBe(onServer.expected.output);

      const usageOf = async (hostId: string) =>
        (
          (await (await get(app, `/v1/hosts/${hostId}/agents/main/usage`)).json()) as {
            totals: { output: number; costUsd: number };
          }
        ).totals;
      const laptopUsage = await usageOf('laptop');
      const serverUsage = await usageOf('server');
      expect(laptopUsage.output).toBe(onLaptop.expected.output + laptopOnly.expected.output);
      expect(serverUsage.output).toBe(onServer.expected.output);

      const all = (await (await get(app, '/v1/usage')).json()) as {
        totals: { output: number; costUsd: number };
        byHost: { hostId: string; totals: { output: number } }[];
        byDay: { hostId: string; agentId: string; model: string; output: number }[];
      };
      const ours = all.byHost.filter((h) => ['laptop', 'server'].includes(h.hostId));
      expect(ours.map((h) => [h.hostId, h.totals.output])).toEqual([
        ['laptop', laptopUsage.output],
        ['server', serverUsage.output],
      ]);
      expect(all.totals.output).toBe(all.byHost.reduce((sum, h) => sum + h.totals.output, 0));
      expect(
        all.byDay
          .filter((row) => row.hostId === 'laptop')
          .map((row) => row.model)
          .sort(),
      ).toEqual(['claude-sonnet-4-5', 'gpt-5']);

      // A worker key speaks for its own host only.
      const crossed = await putTranscript(app, onLaptop.text, onLaptop.text, {
        hostId: 'server',
        sessionId: 'copied',
        key: laptop.key,
      });
      expect(crossed.status).toBe(403);
      expect(((await crossed.json()) as { error: { message: string } }).error.message).toBe(
        'This request uploads a transcript for host server, which needs an admin key or the worker key of host server; it was sent with a worker key of host laptop.',
      );
    });

    it('answers every route for every role: allowed, or 403 saying which key it has and needs', async () => {
      const laptop = await createKey(app, { role: 'worker', hostId: 'rt-laptop' });
      const readAll = await createKey(app, { role: 'reader', hosts: 'all' });
      const readOther = await createKey(app, { role: 'reader', hosts: ['rt-server'] });
      const text = buildTranscript({ sessionId: 'rt', turns: 1 }).text;
      expect(
        (await putTranscript(app, text, text, { hostId: 'rt-laptop', sessionId: 'rt' })).status,
      ).toBe(201);
      const endpoint = await send(app, 'POST', '/v1/endpoints', API_KEY, {
        id: 'rt-ep',
        hostId: 'rt-laptop',
        agentId: 'main',
        provider: 'github',
      });
      expect(endpoint.status).toBe(201);
      const sha = /"sha256":"([0-9a-f]{64})"/.exec(
        await (await get(app, '/v1/hosts/rt-laptop/agents/main/sessions/rt')).text(),
      )?.[1];
      const keys = {
        admin: API_KEY,
        worker: laptop.key,
        readerAll: readAll.key,
        readerOther: readOther.key,
      } as const;
      type Who = keyof typeof keys;
      const h = '/v1/hosts/rt-laptop';
      const routes: [string, string, unknown, readonly Who[]][] = [
        ['GET', '/v1/hosts', undefined, ['admin', 'worker', 'readerAll', 'readerOther']],
        ['GET', h, undefined, ['admin', 'worker', 'readerAll']],
        ['PUT', h, { name: 'Laptop', workerVersion: '0.3.0' }, ['admin', 'worker']],
        ['POST', `${h}/runs`, REPORT, ['admin', 'worker']],
        ['GET', `${h}/agents`, undefined, ['admin', 'worker', 'readerAll']],
        ['GET', `${h}/agents/main/sessions`, undefined, ['admin', 'worker', 'readerAll']],
        ['GET', `${h}/agents/main/sessions/rt`, undefined, ['admin', 'worker', 'readerAll']],
        ['GET', `${h}/agents/main/usage`, undefined, ['admin', 'worker', 'readerAll']],
        ['GET', `${h}/agents/main/bundle`, undefined, ['admin', 'worker', 'readerAll']],
        [
          'GET',
          `${h}/agents/main/sessions/rt/transcripts/${sha ?? ''}`,
          undefined,
          ['admin', 'worker', 'readerAll'],
        ],
        ['GET', '/v1/usage', undefined, ['admin', 'readerAll', 'readerOther']],
        ['GET', '/v1/usage?hostId=rt-laptop', undefined, ['admin', 'readerAll']],
        ['GET', '/v1/agents/main/sessions', undefined, ['admin', 'readerAll']],
        ['GET', '/v1/endpoints', undefined, ['admin', 'readerAll', 'readerOther']],
        ['GET', '/v1/endpoints/rt-ep', undefined, ['admin', 'worker', 'readerAll']],
        [
          'POST',
          '/v1/endpoints',
          { hostId: 'rt-laptop', agentId: 'main', provider: 'github' },
          ['admin'],
        ],
        ['PATCH', '/v1/endpoints/none', { enabled: false }, ['admin']],
        ['DELETE', '/v1/endpoints/none', undefined, ['admin']],
        [
          'POST',
          '/v1/webhooks/claim',
          { hostId: 'rt-laptop', agents: ['main'] },
          ['admin', 'worker'],
        ],
        [
          'POST',
          '/v1/webhooks/settle',
          {
            results: [
              {
                hostId: 'rt-laptop',
                agentId: 'main',
                id: 'wh_00000000000000000000000000000000',
                leaseId: 'x',
                outcome: 'delivered',
              },
            ],
          },
          ['admin', 'worker'],
        ],
        [
          'GET',
          '/v1/webhooks?hostId=rt-laptop&agentId=main',
          undefined,
          ['admin', 'worker', 'readerAll'],
        ],
        [
          'GET',
          `${h}/agents/main/webhooks/wh_00000000000000000000000000000000`,
          undefined,
          ['admin', 'worker', 'readerAll'],
        ],
        [
          'GET',
          `${h}/agents/main/webhooks/wh_00000000000000000000000000000000/body`,
          undefined,
          ['admin', 'worker', 'readerAll'],
        ],
        [
          'POST',
          `${h}/agents/main/webhooks/wh_00000000000000000000000000000000/replay`,
          undefined,
          ['admin'],
        ],
        ['GET', '/v1/keys', undefined, ['admin']],
        ['POST', '/v1/keys', { role: 'reader' }, ['admin']],
        ['DELETE', '/v1/keys/aaaaaaaaaaaa', undefined, ['admin']],
        ['POST', '/v1/enrolments', { hostId: 'rt-new' }, ['admin']],
      ];
      const problems: string[] = [];
      for (const [method, path, body, allowed] of routes) {
        for (const who of Object.keys(keys) as Who[]) {
          const response = await send(app, method, path, keys[who], body);
          const text = await response.text();
          if (allowed.includes(who)) {
            if (response.status === 403 || response.status === 401)
              problems.push(`${who} ${method} ${path}: ${response.status} ${text}`);
          } else if (
            response.status !== 403 ||
            !/which needs .+; it was sent with (an admin key|a worker key of host rt-laptop|a reader key of (all hosts|host rt-server))\./.test(
              text,
            )
          ) {
            problems.push(`${who} ${method} ${path}: expected 403, got ${response.status} ${text}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('shows a created key once, lists it by prefix and last use, and stops a revoked one', async () => {
      let clock = NOW.getTime();
      const now = () => new Date(clock);
      const here = testApp(storage, { now, keyCacheMs: 5000 });
      // Another instance on the same storage (another Azure Functions instance, another server).
      const elsewhere = testApp(storage, { now, keyCacheMs: 5000 });
      const created = await createKey(here, { role: 'reader', hosts: 'all', label: 'grafana' });
      expect(created.key).toMatch(/^nxk_[a-z2-7]{12}_/);
      expect(created.key.startsWith(`nxk_${created.keyId}_`)).toBe(true);
      expect((await get(elsewhere, '/v1/hosts', created.key)).status).toBe(200);

      const listed = await (await get(here, '/v1/keys')).text();
      expect(listed).not.toContain(created.key);
      expect(listed).not.toContain(created.key.slice(18));
      const entry = (JSON.parse(listed) as { keys: Record<string, unknown>[] }).keys.find(
        (k) => k['keyId'] === created.keyId,
      );
      expect(entry).toMatchObject({
        role: 'reader',
        hosts: 'all',
        label: 'grafana',
        createdAt: NOW.toISOString(),
        lastUsedAt: NOW.toISOString(),
      });
      expect(entry).not.toHaveProperty('hash');

      const revoked = await send(here, 'DELETE', `/v1/keys/${created.keyId}`, API_KEY);
      expect(revoked.status).toBe(200);
      const refused = await get(here, '/v1/hosts', created.key);
      expect(refused.status).toBe(401);
      expect(await refused.text()).toContain(`The key ${created.keyId} was revoked`);
      // The other instance trusts what it read for at most keyCacheMs.
      clock += 4000;
      expect((await get(elsewhere, '/v1/hosts', created.key)).status).toBe(200);
      clock += 1500;
      expect((await get(elsewhere, '/v1/hosts', created.key)).status).toBe(401);
      expect((await send(here, 'DELETE', '/v1/keys/aaaaaaaaaaaa', API_KEY)).status).toBe(404);
      const notAnId = await send(here, 'DELETE', '/v1/keys/nxk_whole-key-pasted', API_KEY);
      expect(notAnId.status).toBe(400);
      expect(await notAnId.text()).toMatch(/not a key id/);
      const badHost = await get(here, '/v1/usage?hostId=Not%20A%20Host');
      expect(badHost.status).toBe(400);
      expect(await badHost.text()).toMatch(/host id is not valid/);
    });

    it('refuses keys that make no sense, saying what to give', async () => {
      for (const [body, message] of [
        [{ role: 'worker' }, /A worker key is for one host: give "hostId"/],
        [{ role: 'admin', hostId: 'a' }, /An admin key is for every host/],
        [{ role: 'reader', hostId: 'a' }, /A reader key reads every host or a list/],
        [{ role: 'worker', hostId: 'Bad Host' }, /host id is not valid/],
        [{ role: 'owner' }, /role: must be admin, worker or reader/],
      ] as const) {
        const response = await send(app, 'POST', '/v1/keys', API_KEY, body);
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
          message,
        );
      }
    });

    it('enrols a host with a one-time code: a worker key for that host, once, until it expires', async () => {
      let clock = NOW.getTime();
      const here = testApp(storage, { now: () => new Date(clock) });
      const made = await send(here, 'POST', '/v1/enrolments', API_KEY, { hostId: 'new-box' });
      expect(made.status).toBe(201);
      const { code, expiresAt } = (await made.json()) as { code: string; expiresAt: string };
      expect(Date.parse(expiresAt) - clock).toBe(24 * 3600_000);
      const redeemed = await send(here, 'POST', '/v1/enrol', null, { code });
      expect(redeemed.status).toBe(201);
      const worker = (await redeemed.json()) as CreatedKey & { hostId: string };
      expect(worker).toMatchObject({ role: 'worker', hostId: 'new-box' });
      const text = buildTranscript({ sessionId: 'enrolled', turns: 1 }).text;
      expect(
        (
          await putTranscript(here, text, text, {
            hostId: 'new-box',
            sessionId: 'enrolled',
            key: worker.key,
          })
        ).status,
      ).toBe(201);
      const again = await send(here, 'POST', '/v1/enrol', null, { code });
      expect(again.status).toBe(403);
      expect(await again.text()).toMatch(/a code works once/);

      const short = (await (
        await send(here, 'POST', '/v1/enrolments', API_KEY, { hostId: 'late-box', ttlHours: 1 })
      ).json()) as { code: string };
      clock += 3600_000;
      const late = await send(here, 'POST', '/v1/enrol', null, { code: short.code });
      expect(late.status).toBe(403);
      expect(await late.text()).toMatch(/expired/);
      const unknown = await send(here, 'POST', '/v1/enrol', null, {
        code: 'nxe_aaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaa',
      });
      expect(unknown.status).toBe(401);
    });

    it('slows a burst of wrong keys from one address with 429, never a valid key', async () => {
      const here = testApp(storage, {
        authThrottle: { burst: 3, refillMs: 60_000, maxAddresses: 100 },
      });
      const from = (address: string, key: string) =>
        here.request(
          '/v1/hosts',
          { headers: { authorization: `Bearer ${key}` } },
          {
            clientAddress: address,
          },
        );
      const statuses = [];
      for (let i = 0; i < 5; i += 1)
        statuses.push((await from('203.0.113.7', `wrong-key-${String(i)}-0123456789`)).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const throttled = await from('203.0.113.7', 'wrong-key-again-0123456789');
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await throttled.text()).toMatch(/Too many failed authentications/);
      expect((await from('203.0.113.7', API_KEY)).status).toBe(200);
      expect((await from('198.51.100.1', 'wrong-key-elsewhere-0123')).status).toBe(401);
      // A created key in use keeps working from there; while the address is over its budget,
      // keys this instance has not seen lately are not looked up in storage at all.
      const known = await createKey(here, { role: 'reader' });
      expect((await from('198.51.100.2', known.key)).status).toBe(200);
      expect((await from('203.0.113.7', known.key)).status).toBe(200);
      const unseen = await createKey(here, { role: 'reader' });
      expect((await from('203.0.113.7', unseen.key)).status).toBe(429);
      expect((await from('198.51.100.2', unseen.key)).status).toBe(200);
    });

    it('keeps the routes from before hosts for the default host, marked deprecated', async () => {
      const text = buildTranscript({ sessionId: 'old-route', turns: 1 }).text;
      const put = await putTranscript(app, text, text, { sessionId: 'old-route' });
      expect(put.status).toBe(201);
      const old = await get(app, '/v1/agents/main/sessions/old-route');
      expect(old.status).toBe(200);
      expect(old.headers.get('deprecation')).toBe('@1796083200');
      expect((await get(app, '/v1/agents')).headers.get('deprecation')).toBe('@1796083200');
      expect((await get(app, '/v1/hosts')).headers.get('deprecation')).toBeNull();
      expect(((await old.json()) as { session: { hostId: string } }).session.hostId).toBe(
        'default',
      );
      expect((await get(app, '/v1/hosts/default/agents/main/sessions/old-route')).status).toBe(200);
      const other = testApp(storage, { defaultHostId: 'rt-laptop' });
      expect((await get(other, '/v1/agents/main/sessions/old-route')).status).toBe(404);
      expect((await get(other, '/v1/agents/main/sessions/rt')).status).toBe(200);
    });

    it('delivers a host’s webhooks only to that host’s worker', async () => {
      const ep = await send(app, 'POST', '/v1/endpoints', API_KEY, {
        id: 'ep-wh-laptop',
        hostId: 'wh-laptop',
        agentId: 'main',
        provider: 'token',
        header: 'x-token',
        secrets: ['wh-token-123456'],
      });
      expect(ep.status).toBe(201);
      const laptop = await createKey(app, { role: 'worker', hostId: 'wh-laptop' });
      const server = await createKey(app, { role: 'worker', hostId: 'wh-server' });
      const posted = await app.request('/hooks/ep-wh-laptop', {
        method: 'POST',
        headers: { 'x-token': 'wh-token-123456', 'content-type': 'application/json' },
        body: '{"hello":1}',
      });
      expect(posted.status).toBe(202);
      const claim = (key: string, hostId: string) =>
        send(app, 'POST', '/v1/webhooks/claim', key, { hostId, agents: ['main'] });
      const serverOwn = (await (await claim(server.key, 'wh-server')).json()) as {
        items: unknown[];
      };
      expect(serverOwn.items).toEqual([]);
      expect((await claim(server.key, 'wh-laptop')).status).toBe(403);
      const mine = (await (await claim(laptop.key, 'wh-laptop')).json()) as {
        items: { hostId: string; agentId: string }[];
      };
      expect(mine.items.map((i) => [i.hostId, i.agentId])).toEqual([['wh-laptop', 'main']]);
      const host = (await (await get(app, '/v1/hosts/wh-laptop')).json()) as {
        lastClaimAt?: string;
      };
      expect(host.lastClaimAt).toBe(NOW.toISOString());
    });

    it('gives an endpoint without a host the only host there is, and asks when there are several', async () => {
      const response = await send(app, 'POST', '/v1/endpoints', API_KEY, {
        agentId: 'main',
        provider: 'github',
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/serves several hosts .*say which one/);

      const alone = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-one-host-')));
      try {
        const single = testApp(alone);
        const none = await send(single, 'POST', '/v1/endpoints', API_KEY, {
          agentId: 'main',
          provider: 'github',
        });
        expect(((await none.json()) as { hostId: string }).hostId).toBe('default');
        expect((await send(single, 'PUT', '/v1/hosts/only-box', API_KEY, {})).status).toBe(200);
        const one = await send(single, 'POST', '/v1/endpoints', API_KEY, {
          agentId: 'main',
          provider: 'github',
        });
        expect(((await one.json()) as { hostId: string }).hostId).toBe('only-box');
      } finally {
        await alone.close();
      }
    });

    it('shows each host’s last runs and whether its backups can be relied on', async () => {
      let clock = NOW.getTime();
      const here = testApp(storage, { now: () => new Date(clock) });
      const worker = await createKey(here, { role: 'worker', hostId: 'runs-box' });
      const status = async () =>
        (await (await get(here, '/v1/hosts/runs-box')).json()) as {
          jobs: { jobId: string; success: boolean }[];
          status: { health: string; reason: string };
        };
      const report = (body: object) =>
        send(here, 'POST', '/v1/hosts/runs-box/runs', worker.key, body);
      expect((await report(REPORT)).status).toBe(204);
      expect(await status()).toMatchObject({
        jobs: [{ jobId: 'session-upload', success: true }],
        status: { health: 'ok' },
      });
      expect(
        (
          await report({
            ...REPORT,
            success: false,
            message: 'stopped uploading: the API refused the key',
            finishedAt: '2026-11-25T12:00:00.000Z',
          })
        ).status,
      ).toBe(204);
      expect((await status()).status).toEqual({
        health: 'failing',
        reason: 'session-upload: stopped uploading: the API refused the key',
        lastSeenAt: '2026-11-25T12:00:00.000Z',
        deadWebhooks: 0,
        lastDeadAt: null,
      });
      clock += 61 * 60_000;
      expect((await status()).status.health).toBe('silent');

      const bad = await report({ ...REPORT, counts: { uploaded: -1 }, extra: 1 });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toMatch(/counts/);
    });
  },
);

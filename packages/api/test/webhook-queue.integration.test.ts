import { createHmac, randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import { DEFAULT_HOST_ID, scopeKey, type Storage } from '@nexus/core';
import { ApiKeys } from '../src/http/api-keys.ts';
import { createApp } from '../src/http/create-app.ts';
import { API_KEY, NOW, backends, type Backend } from '../src/testing/api-harness.ts';

const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
const SECRET = 'queue-test-secret';
const MINUTE = 60_000;

interface ClaimedView {
  id: string;
  replays: number;
  agentId: string;
  leaseId: string;
  attempts: number;
  eventType: string;
  body?: string;
  bodyUrl?: string;
  delivery: { action: string; mapping?: string; template?: string };
  headers: Record<string, string>;
}

interface ItemView {
  id: string;
  state: string;
  deliveredAt?: string;
  attempts: number;
  availableAt?: string;
  lastError?: string;
  lastStatus?: number;
}

/** A queue API on one backend with a clock the test moves, and jitter pinned to its midpoint. */
function queueHarness(storage: Storage) {
  let clock = NOW.getTime();
  const app = createApp({
    storage,
    storageKind: 'test',
    apiKeys: new ApiKeys([API_KEY]),
    logger: pino({ level: 'silent' }),
    maxTranscriptBytes: 1024,
    version: 'test',
    now: () => new Date(clock),
    random: () => 0.5,
    webhookRetry: { maxAttempts: 3, baseDelayMs: MINUTE, maxDelayMs: 60 * MINUTE },
    webhookRetention: { deliveredMs: 24 * 60 * MINUTE, deadMs: 0 },
  });
  return {
    app,
    advance(ms: number) {
      clock += ms;
    },
    now: () => clock,
  };
}

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

async function addEndpoint(app: NexusApp, id: string, agentId: string, extra = {}) {
  const response = await app.request('/v1/endpoints', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      id,
      agentId,
      provider: 'hmac',
      header: 'x-sig',
      secrets: [SECRET],
      dedupeHeader: 'x-delivery',
      ...extra,
    }),
  });
  expect(response.status).toBe(201);
}

/** Posts a delivery signed with the shared secret; returns its item id. */
async function deliver(
  app: NexusApp,
  endpointId: string,
  body: string,
  deliveryId: string = randomUUID(),
) {
  const response = await app.request(`/hooks/${endpointId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-delivery': deliveryId,
      'x-sig': createHmac('sha256', SECRET).update(body).digest('hex'),
    },
    body,
  });
  expect(response.status).toBe(202);
  return (await json<{ id: string }>(response)).id;
}

function claim(app: NexusApp, agents: string[], max = 10, leaseSeconds = 60) {
  return json<{ items: ClaimedView[] }>(
    app.request('/v1/webhooks/claim', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ agents, max, leaseSeconds }),
    }),
  ).then((answer) => answer.items);
}

function settle(app: NexusApp, results: Record<string, unknown>[]) {
  return json<{
    results: { id: string; ok: boolean; state?: string; error?: { code: string } }[];
  }>(
    app.request('/v1/webhooks/settle', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ results }),
    }),
  ).then((answer) => answer.results);
}

function show(app: NexusApp, agentId: string, id: string) {
  return json<ItemView>(app.request(`/v1/webhooks/${agentId}/${id}`, { headers: auth }));
}

async function listIds(app: NexusApp, agentId: string, state: string) {
  const page = await json<{ items: ItemView[] }>(
    app.request(`/v1/webhooks?agentId=${agentId}&state=${state}`, { headers: auth }),
  );
  return page.items.map((item) => item.id);
}

/** Opens the backend for a describe block and closes it after; the harness is ready in each test. */
function onBackend(backend: Backend): {
  readonly h: ReturnType<typeof queueHarness>;
  readonly storage: Storage;
} {
  let storage: Storage | undefined;
  let harness: ReturnType<typeof queueHarness> | undefined;
  beforeAll(async () => {
    storage = await backend.open();
    harness = queueHarness(storage);
  });
  afterAll(async () => {
    await storage?.close();
  });
  return {
    get h() {
      if (!harness) throw new Error('the backend is not open yet');
      return harness;
    },
    get storage() {
      if (!storage) throw new Error('the backend is not open yet');
      return storage;
    },
  };
}

describe.each(backends(inject('azuriteConnectionString')))(
  'the webhook queue on $name storage',
  (backend) => {
    const on = onBackend(backend);

    it('leases items oldest first, hides them while leased, and keeps them once delivered', async () => {
      await addEndpoint(on.h.app, 'q-basic', 'agent-basic');
      const first = await deliver(on.h.app, 'q-basic', '{"n":1}');
      on.h.advance(1000);
      const second = await deliver(on.h.app, 'q-basic', '{"n":2}');
      on.h.advance(1000);

      const claimed = await claim(on.h.app, ['agent-basic']);
      expect(claimed.map((item) => item.id)).toEqual([first, second]);
      expect(Buffer.from(claimed[0]?.body ?? '', 'base64').toString()).toBe('{"n":1}');
      expect(claimed[0]).toMatchObject({ attempts: 1, delivery: { action: 'agent' } });
      expect(claimed[0]?.headers['x-delivery']).toBeDefined();
      expect(claimed[0]?.headers['x-sig']).toBeDefined();
      expect(await claim(on.h.app, ['agent-basic'])).toEqual([]);
      expect((await listIds(on.h.app, 'agent-basic', 'leased')).sort()).toEqual(
        [first, second].sort(),
      );

      const results = await settle(
        on.h.app,
        claimed.map((item) => ({
          agentId: item.agentId,
          id: item.id,
          leaseId: item.leaseId,
          outcome: 'delivered',
          status: 202,
        })),
      );
      expect(results.map((r) => [r.ok, r.state])).toEqual([
        [true, 'delivered'],
        [true, 'delivered'],
      ]);
      expect(await show(on.h.app, 'agent-basic', first)).toMatchObject({
        state: 'delivered',
        lastStatus: 202,
      });
      expect((await listIds(on.h.app, 'agent-basic', 'delivered')).sort()).toEqual(
        [first, second].sort(),
      );
      on.h.advance(10 * MINUTE);
      expect(await claim(on.h.app, ['agent-basic'])).toEqual([]);
    });

    it('brings a failed item back after an exponential, jittered backoff, then dead-letters it', async () => {
      await addEndpoint(on.h.app, 'q-fail', 'agent-fail');
      const id = await deliver(on.h.app, 'q-fail', '{"fail":true}');
      const expectedDelays = [0.75 * MINUTE, 1.5 * MINUTE]; // base·2^(n-1), jitter pinned at ¾
      for (const delay of expectedDelays) {
        const [item] = await claim(on.h.app, ['agent-fail']);
        expect(item?.id).toBe(id);
        const [result] = await settle(on.h.app, [
          {
            agentId: 'agent-fail',
            id,
            leaseId: item?.leaseId,
            outcome: 'failed',
            reason: 'gateway answered 500',
            status: 500,
          },
        ]);
        expect(result).toMatchObject({ ok: true, state: 'pending' });
        const shown = await show(on.h.app, 'agent-fail', id);
        expect(Date.parse(shown.availableAt ?? '')).toBe(on.h.now() + delay);
        expect(shown.lastError).toBe('gateway answered 500');
        on.h.advance(delay - 1000);
        expect(await claim(on.h.app, ['agent-fail'])).toEqual([]);
        on.h.advance(1000);
      }
      const [last] = await claim(on.h.app, ['agent-fail']);
      expect(last?.attempts).toBe(3);
      const [result] = await settle(on.h.app, [
        {
          agentId: 'agent-fail',
          id,
          leaseId: last?.leaseId,
          outcome: 'failed',
          reason: 'still 500',
          status: 500,
        },
      ]);
      expect(result).toMatchObject({ ok: true, state: 'dead' });
      expect(await listIds(on.h.app, 'agent-fail', 'dead')).toEqual([id]);
      on.h.advance(24 * 60 * MINUTE);
      expect(await claim(on.h.app, ['agent-fail'])).toEqual([]);
      // Dead items are kept (retention 0) until replayed, which starts the attempts afresh.
      const replayed = await on.h.app.request(`/v1/webhooks/agent-fail/${id}/replay`, {
        method: 'POST',
        headers: auth,
      });
      expect(replayed.status).toBe(200);
      expect(await json<ItemView>(replayed)).toMatchObject({ state: 'pending', attempts: 0 });
      expect(await listIds(on.h.app, 'agent-fail', 'dead')).toEqual([]);
      const [again] = await claim(on.h.app, ['agent-fail']);
      expect(again).toMatchObject({ id, attempts: 1 });
    });

    it('honours Retry-After, and a release (gateway down) does not count as an attempt', async () => {
      await addEndpoint(on.h.app, 'q-busy', 'agent-busy');
      const id = await deliver(on.h.app, 'q-busy', '{"busy":1}');
      const [item] = await claim(on.h.app, ['agent-busy']);
      await settle(on.h.app, [
        {
          agentId: 'agent-busy',
          id,
          leaseId: item?.leaseId,
          outcome: 'released',
          reason: 'gateway busy (429)',
          status: 429,
          retryAfterSeconds: 30,
        },
      ]);
      expect(await show(on.h.app, 'agent-busy', id)).toMatchObject({
        state: 'pending',
        attempts: 0,
      });
      on.h.advance(29_000);
      expect(await claim(on.h.app, ['agent-busy'])).toEqual([]);
      on.h.advance(1000);
      const [again] = await claim(on.h.app, ['agent-busy']);
      expect(again?.attempts).toBe(1);
      // A failure's Retry-After is a floor over the backoff (¾ minute here).
      await settle(on.h.app, [
        {
          agentId: 'agent-busy',
          id,
          leaseId: again?.leaseId,
          outcome: 'failed',
          reason: '503',
          status: 503,
          retryAfterSeconds: 600,
        },
      ]);
      const shown = await show(on.h.app, 'agent-busy', id);
      expect(Date.parse(shown.availableAt ?? '')).toBe(on.h.now() + 600_000);
    });

    it('returns an item whose lease expired, and refuses the old lease holder a failure but not a delivery', async () => {
      await addEndpoint(on.h.app, 'q-lease', 'agent-lease');
      const id = await deliver(on.h.app, 'q-lease', '{"lease":1}');
      const [first] = await claim(on.h.app, ['agent-lease'], 10, 30);
      on.h.advance(29_000);
      expect(await claim(on.h.app, ['agent-lease'])).toEqual([]);
      on.h.advance(1000);
      const [second] = await claim(on.h.app, ['agent-lease'], 10, 30);
      expect(second).toMatchObject({ id, attempts: 2 });
      expect(second?.leaseId).not.toBe(first?.leaseId);
      const [stale] = await settle(on.h.app, [
        { agentId: 'agent-lease', id, leaseId: first?.leaseId, outcome: 'failed', reason: 'x' },
      ]);
      expect(stale).toMatchObject({ ok: false, error: { code: 'lease_lost' } });
      // The gateway has it: a late "delivered" is the truth whoever holds the lease.
      const [late] = await settle(on.h.app, [
        { agentId: 'agent-lease', id, leaseId: first?.leaseId, outcome: 'delivered', status: 200 },
      ]);
      expect(late).toMatchObject({ ok: true, state: 'delivered' });
      const [after] = await settle(on.h.app, [
        { agentId: 'agent-lease', id, leaseId: second?.leaseId, outcome: 'delivered' },
      ]);
      expect(after).toMatchObject({ ok: true, state: 'delivered' });
    });

    it('claims items whose leases expired together in the order they were received, not by id', async () => {
      await addEndpoint(on.h.app, 'q-order', 'agent-order');
      const received: string[] = [];
      for (let n = 0; n < 8; n += 1) {
        received.push(await deliver(on.h.app, 'q-order', `{"order":${n}}`));
        on.h.advance(1);
      }
      // Ids are hashes: their order is not the order of arrival.
      expect([...received].sort()).not.toEqual(received);
      expect((await claim(on.h.app, ['agent-order'], 8, 30)).map((i) => i.id)).toEqual(received);
      on.h.advance(30_010);
      expect((await claim(on.h.app, ['agent-order'], 8, 30)).map((i) => i.id)).toEqual(received);
    });

    it('refuses "delivered" with a lease id never issued for the item, and keeps it in the queue', async () => {
      await addEndpoint(on.h.app, 'q-forged', 'agent-forged');
      const id = await deliver(on.h.app, 'q-forged', '{"forged":1}');
      const [forged] = await settle(on.h.app, [
        { agentId: 'agent-forged', id, leaseId: 'made-up', outcome: 'delivered', status: 200 },
      ]);
      expect(forged).toMatchObject({ ok: false, error: { code: 'unknown_lease' } });
      const [first] = await claim(on.h.app, ['agent-forged'], 10, 30);
      expect(first?.id).toBe(id);
      const [other] = await settle(on.h.app, [
        {
          agentId: 'agent-forged',
          id,
          // The real lease id with its last character changed (never to itself).
          leaseId: `${first?.leaseId.slice(0, -1) ?? ''}${first?.leaseId.endsWith('0') ? '1' : '0'}`,
          outcome: 'delivered',
        },
      ]);
      expect(other?.ok).toBe(false);
      expect(await show(on.h.app, 'agent-forged', id)).toMatchObject({ state: 'leased' });
      const [real] = await settle(on.h.app, [
        { agentId: 'agent-forged', id, leaseId: first?.leaseId, outcome: 'delivered' },
      ]);
      expect(real).toMatchObject({ ok: true, state: 'delivered' });
    });

    it('marks a replay: its count and time, the first delivery time kept', async () => {
      await addEndpoint(on.h.app, 'q-replays', 'agent-replays');
      const id = await deliver(on.h.app, 'q-replays', '{"replay":1}');
      const [first] = await claim(on.h.app, ['agent-replays']);
      expect(first).toMatchObject({ replays: 0 });
      await settle(on.h.app, [
        { agentId: 'agent-replays', id, leaseId: first?.leaseId, outcome: 'delivered' },
      ]);
      const deliveredAt = (await show(on.h.app, 'agent-replays', id)).deliveredAt;
      on.h.advance(60_000);
      for (const count of [1, 2]) {
        const replayed = await on.h.app.request(`/v1/webhooks/agent-replays/${id}/replay`, {
          method: 'POST',
          headers: auth,
        });
        expect(await replayed.json()).toMatchObject({
          state: 'pending',
          replays: count,
          replayedAt: new Date(on.h.now()).toISOString(),
          deliveredAt,
        });
        const [again] = await claim(on.h.app, ['agent-replays']);
        expect(again).toMatchObject({ id, replays: count });
        await settle(on.h.app, [
          { agentId: 'agent-replays', id, leaseId: again?.leaseId, outcome: 'delivered' },
        ]);
        on.h.advance(60_000);
      }
      expect(await show(on.h.app, 'agent-replays', id)).toMatchObject({
        state: 'delivered',
        deliveredAt,
        replays: 2,
        lastDeliveredAt: new Date(on.h.now() - 60_000).toISOString(),
      });
    });

    it('dead-letters an item whose lease expires on its last attempt (a worker that dies on it)', async () => {
      await addEndpoint(on.h.app, 'q-poison', 'agent-poison');
      const id = await deliver(on.h.app, 'q-poison', '{"poison":1}');
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        const [item] = await claim(on.h.app, ['agent-poison'], 10, 10);
        expect(item?.attempts).toBe(attempt);
        on.h.advance(10_000);
      }
      expect(await claim(on.h.app, ['agent-poison'])).toEqual([]);
      expect(await show(on.h.app, 'agent-poison', id)).toMatchObject({
        state: 'dead',
        lastError: expect.stringContaining('lease expired') as unknown,
      });
    });

    it('never gives the same item to two concurrent claims', async () => {
      await addEndpoint(on.h.app, 'q-race', 'agent-race');
      const ids = new Set<string>();
      for (let n = 0; n < 20; n += 1) ids.add(await deliver(on.h.app, 'q-race', `{"n":${n}}`));
      const batches = await Promise.all([
        claim(on.h.app, ['agent-race'], 20),
        claim(on.h.app, ['agent-race'], 20),
        claim(on.h.app, ['agent-race'], 20),
      ]);
      const claimed = batches.flat().map((item) => item.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(new Set(claimed)).toEqual(ids);
    });

    it('moves an item and its index rows together, also when the row it was at is gone', async () => {
      await addEndpoint(on.h.app, 'q-rows', 'agent-rows');
      const id = await deliver(on.h.app, 'q-rows', '{"rows":1}');
      const partition = scopeKey({ hostId: DEFAULT_HOST_ID, agentId: 'agent-rows' });
      const rows = async (table: string) =>
        (await on.storage.tables.query(table, partition)).items.map((row) => row.rowKey);
      const [waiting] = await rows('webhookQueue');
      const [item] = await claim(on.h.app, ['agent-rows']);
      // Leased: one queue row, at the lease's end, the one it waited at gone.
      const [leased] = await rows('webhookQueue');
      expect(await rows('webhookQueue')).toHaveLength(1);
      expect(leased).not.toBe(waiting);
      // That row removed under it (a stale-row sweep, or an older version's crash between its
      // writes): the result is still recorded, not refused as a conflict.
      await on.storage.tables.delete('webhookQueue', partition, leased ?? '');
      const [result] = await settle(on.h.app, [
        { agentId: 'agent-rows', id, leaseId: item?.leaseId, outcome: 'delivered', status: 200 },
      ]);
      expect(result).toMatchObject({ ok: true, state: 'delivered' });
      expect(await rows('webhookQueue')).toEqual([]);
      expect(await rows('webhookExpiry')).toHaveLength(1);
      // A replay puts it back in the queue and takes its expiry row away, together.
      const replayed = await on.h.app.request(`/v1/webhooks/agent-rows/${id}/replay`, {
        method: 'POST',
        headers: auth,
      });
      expect(replayed.status).toBe(200);
      expect(await rows('webhookQueue')).toHaveLength(1);
      expect(await rows('webhookExpiry')).toEqual([]);
    });

    it('removes delivered items after their retention, and with them their dedupe record', async () => {
      await addEndpoint(on.h.app, 'q-keep', 'agent-keep');
      const id = await deliver(on.h.app, 'q-keep', '{"keep":1}', 'delivery-keep');
      const [item] = await claim(on.h.app, ['agent-keep']);
      await settle(on.h.app, [
        { agentId: 'agent-keep', id, leaseId: item?.leaseId, outcome: 'delivered' },
      ]);
      on.h.advance(23 * 60 * MINUTE);
      await claim(on.h.app, ['agent-keep']); // claims sweep, at most once a minute per agent
      expect(
        (await on.h.app.request(`/v1/webhooks/agent-keep/${id}`, { headers: auth })).status,
      ).toBe(200);
      on.h.advance(2 * 60 * MINUTE);
      await claim(on.h.app, ['agent-keep']);
      const gone = await on.h.app.request(`/v1/webhooks/agent-keep/${id}`, { headers: auth });
      expect(gone.status).toBe(404);
      expect((await json<{ error: { code: string } }>(gone)).error.code).toBe('webhook_not_found');
      expect(await listIds(on.h.app, 'agent-keep', 'delivered')).toEqual([]);
      expect(await deliver(on.h.app, 'q-keep', '{"keep":1}', 'delivery-keep')).toBe(id);
    });

    it('keeps large bodies in a blob: inline in the claim up to 256 KiB, fetched separately beyond', async () => {
      await addEndpoint(on.h.app, 'q-large', 'agent-large');
      const medium = JSON.stringify({ pad: 'm'.repeat(100 * 1024) });
      const large = JSON.stringify({ pad: 'l'.repeat(300 * 1024) });
      const mediumId = await deliver(on.h.app, 'q-large', medium);
      on.h.advance(1);
      const largeId = await deliver(on.h.app, 'q-large', large);
      const claimed = await claim(on.h.app, ['agent-large']);
      expect(claimed.map((item) => item.id)).toEqual([mediumId, largeId]);
      expect(Buffer.from(claimed[0]?.body ?? '', 'base64').toString()).toBe(medium);
      expect(claimed[1]?.body).toBeUndefined();
      const fetched = await on.h.app.request(claimed[1]?.bodyUrl ?? '', { headers: auth });
      expect(await fetched.text()).toBe(large);
    });

    it("claims with the endpoint's current template, so a corrected one applies to a replay", async () => {
      await addEndpoint(on.h.app, 'q-tpl', 'agent-tpl', { template: 'old {{event}}' });
      const id = await deliver(on.h.app, 'q-tpl', '{"tpl":1}');
      const [first] = await claim(on.h.app, ['agent-tpl']);
      expect(first?.delivery.template).toBe('old {{event}}');
      await settle(on.h.app, [
        { agentId: 'agent-tpl', id, leaseId: first?.leaseId, outcome: 'delivered' },
      ]);
      const patched = await on.h.app.request('/v1/endpoints/q-tpl', {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ template: 'new {{payload.tpl}}' }),
      });
      expect(patched.status).toBe(200);
      await on.h.app.request(`/v1/webhooks/agent-tpl/${id}/replay`, {
        method: 'POST',
        headers: auth,
      });
      const [again] = await claim(on.h.app, ['agent-tpl']);
      expect(again?.delivery).toEqual({ action: 'agent', template: 'new {{payload.tpl}}' });
      const cleared = await on.h.app.request('/v1/endpoints/q-tpl', {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ template: null }),
      });
      expect(await cleared.json()).not.toHaveProperty('template');
    });

    it('answers bad queue requests with 400 and a reason, per item where a batch is involved', async () => {
      const post = (path: string, body: unknown) =>
        on.h.app.request(path, { method: 'POST', headers: auth, body: JSON.stringify(body) });
      const cases: [string, unknown, RegExp][] = [
        ['/v1/webhooks/claim', { agents: [] }, /agents/],
        ['/v1/webhooks/claim', { agents: ['a'], max: 1000 }, /max/],
        ['/v1/webhooks/claim', { agents: ['a'], leaseSeconds: 1 }, /leaseSeconds/],
        ['/v1/webhooks/claim', { agents: ['../x'] }, /agent id/],
        ['/v1/webhooks/settle', { results: [] }, /results/],
        [
          '/v1/webhooks/settle',
          { results: [{ agentId: 'a', id: 'wh_1', leaseId: 'l', outcome: 'maybe' }] },
          /outcome/,
        ],
        [
          '/v1/webhooks/settle',
          { results: [{ agentId: 'a', id: 'wh_1', leaseId: 'l', outcome: 'failed' }] },
          /reason/,
        ],
      ];
      for (const [path, body, message] of cases) {
        const response = await post(path, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect((await json<{ error: { message: string } }>(response)).error.message).toMatch(
          message,
        );
      }
      const [unknown] = await settle(on.h.app, [
        { agentId: 'agent-basic', id: 'wh_missing', leaseId: 'l', outcome: 'delivered' },
      ]);
      expect(unknown).toMatchObject({ ok: false, error: { code: 'webhook_not_found' } });
      for (const [query, code] of [
        ['state=pending', 'missing_agent_id'],
        ['agentId=a&state=lost', 'invalid_state'],
        ['agentId=a&cursor=bm9wZQ', 'invalid_cursor'],
        ['agentId=a&limit=0', 'invalid_limit'],
      ] as const) {
        const response = await on.h.app.request(`/v1/webhooks?${query}`, { headers: auth });
        expect(response.status, query).toBe(400);
        expect((await json<{ error: { code: string } }>(response)).error.code).toBe(code);
      }
      await addEndpoint(on.h.app, 'q-replay', 'agent-replay');
      const id = await deliver(on.h.app, 'q-replay', '{"r":1}');
      const replay = await on.h.app.request(`/v1/webhooks/agent-replay/${id}/replay`, {
        method: 'POST',
        headers: auth,
      });
      expect(replay.status).toBe(409);
      expect((await json<{ error: { code: string } }>(replay)).error.code).toBe('not_replayable');
      expect((await on.h.app.request('/v1/webhooks/claim', { headers: auth })).status).toBe(405);
      expect(
        (await on.h.app.request('/v1/webhooks/claim', { method: 'POST', body: '{}' })).status,
      ).toBe(401);
    });

    it('pages through a state with a cursor, each item once', async () => {
      await addEndpoint(on.h.app, 'q-page', 'agent-page');
      const ids: string[] = [];
      for (let n = 0; n < 7; n += 1) {
        ids.push(await deliver(on.h.app, 'q-page', `{"page":${n}}`));
        on.h.advance(1);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await json<{ items: ItemView[]; cursor?: string }>(
          on.h.app.request(
            `/v1/webhooks?agentId=agent-page&state=pending&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
            { headers: auth },
          ),
        );
        seen.push(...page.items.map((item) => item.id));
        cursor = page.cursor;
      } while (cursor);
      expect(seen).toEqual(ids);
    });
  },
);

describe.each(backends(inject('azuriteConnectionString')))(
  'ingestion details on $name storage',
  (backend) => {
    const on = onBackend(backend);

    function slackPost(endpointId: string, body: string, secret: string) {
      const ts = String(Math.floor(on.h.now() / 1000));
      const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
      return on.h.app.request(`/hooks/${endpointId}`, {
        method: 'POST',
        headers: {
          'content-type': body.startsWith('{')
            ? 'application/json'
            : 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': signature,
        },
        body,
      });
    }

    it("answers Slack's signed url_verification challenge and stores nothing", async () => {
      await on.h.app.request('/v1/endpoints', {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          id: 'slack-ev',
          agentId: 'agent-slack',
          provider: 'slack',
          secrets: ['slack-signing-secret'],
        }),
      });
      const response = await slackPost(
        'slack-ev',
        '{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
        'slack-signing-secret',
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      });
      const unsigned = await slackPost(
        'slack-ev',
        '{"type":"url_verification","challenge":"x"}',
        'wrong-secret-value',
      );
      expect(unsigned.status).toBe(401);
      expect(await listIds(on.h.app, 'agent-slack', 'pending')).toEqual([]);
    });

    it('deduplicates Slack event retries by event_id, and id-less bodies by their bytes within an hour', async () => {
      const event = '{"type":"event_callback","event_id":"Ev123","event":{"type":"app_mention"}}';
      const first = await json<{ status: string; id: string }>(
        slackPost('slack-ev', event, 'slack-signing-secret'),
      );
      on.h.advance(5 * MINUTE);
      const retry = await json<{ status: string; id: string }>(
        slackPost('slack-ev', event, 'slack-signing-secret'),
      );
      expect([first.status, retry.status]).toEqual(['accepted', 'duplicate']);
      expect(retry.id).toBe(first.id);

      const command = 'command=%2Fdeploy&text=staging&user_name=ana&channel_name=ops';
      const once = await json<{ status: string; id: string }>(
        slackPost('slack-ev', command, 'slack-signing-secret'),
      );
      on.h.advance(50 * MINUTE);
      const sameHour = await json<{ status: string; id: string }>(
        slackPost('slack-ev', command, 'slack-signing-secret'),
      );
      on.h.advance(3 * 60 * MINUTE);
      const later = await json<{ status: string; id: string }>(
        slackPost('slack-ev', command, 'slack-signing-secret'),
      );
      expect([once.status, sameHour.status, later.status]).toEqual([
        'accepted',
        'duplicate',
        'accepted',
      ]);
      expect(later.id).not.toBe(once.id);
      const pending = await listIds(on.h.app, 'agent-slack', 'pending');
      expect(pending).toHaveLength(3);
      const stored = await show(on.h.app, 'agent-slack', once.id);
      expect(stored).toMatchObject({ eventType: '/deploy' });
    });
  },
);

/** Posts a signed delivery and returns the answer as it came (status and JSON body). */
async function post(app: NexusApp, endpointId: string, value: unknown) {
  const body = JSON.stringify(value);
  const response = await app.request(`/hooks/${endpointId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-delivery': randomUUID(),
      'x-sig': createHmac('sha256', SECRET).update(body).digest('hex'),
    },
    body,
  });
  return { status: response.status, body: await json<{ status: string; id: string }>(response) };
}

function patchEndpoint(app: NexusApp, id: string, patch: Record<string, unknown>) {
  return app.request(`/v1/endpoints/${id}`, {
    method: 'PATCH',
    headers: auth,
    body: JSON.stringify(patch),
  });
}

describe.each(backends(inject('azuriteConnectionString')))(
  'endpoint filters, pauses and dead-item notices on $name storage',
  (backend) => {
    const on = onBackend(backend);
    const h = () => on.h;

    it('delivers only the listed event types; the others are answered 200 and kept as filtered', async () => {
      const { app } = h();
      await addEndpoint(app, 'f-events', 'agent-filter', { events: ['issues', 'invoice.*'] });
      const push = await post(app, 'f-events', { type: 'push' });
      expect(push).toEqual({ status: 200, body: { status: 'filtered', id: push.body.id } });
      const paid = await post(app, 'f-events', { type: 'invoice.paid' });
      const issue = await post(app, 'f-events', { type: 'issues' });
      expect([paid.status, issue.status]).toEqual([202, 202]);
      // "issues" is exact: "issues_comment" is not it.
      expect((await post(app, 'f-events', { type: 'issues_comment' })).body.status).toBe(
        'filtered',
      );

      const claimed = await claim(app, ['agent-filter']);
      expect(claimed.map((item) => item.eventType).sort()).toEqual(['invoice.paid', 'issues']);
      expect(await listIds(app, 'agent-filter', 'filtered')).toContain(push.body.id);
      expect(await show(app, 'agent-filter', push.body.id)).toMatchObject({
        state: 'filtered',
        attempts: 0,
      });

      // The owner may deliver a filtered one after all.
      const replayed = await app.request(`/v1/webhooks/agent-filter/${push.body.id}/replay`, {
        method: 'POST',
        headers: auth,
      });
      expect(await replayed.json()).toMatchObject({ state: 'pending' });
      expect((await claim(app, ['agent-filter'])).map((item) => item.id)).toEqual([push.body.id]);

      // Cleared, every event goes again.
      expect((await patchEndpoint(app, 'f-events', { events: null })).status).toBe(200);
      expect((await post(app, 'f-events', { type: 'push' })).status).toBe(202);
    });

    it('refuses an event filter it cannot apply, saying what a filter is', async () => {
      const { app } = h();
      for (const events of [[], ['in*voice'], ['has space'], 'issues']) {
        const response = await app.request('/v1/endpoints', {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({
            id: 'f-bad',
            agentId: 'agent-filter',
            provider: 'github',
            events,
          }),
        });
        expect(response.status).toBe(400);
        expect(await response.text()).toMatch(/events/);
      }
    });

    it('keeps the deliveries of a paused endpoint and delivers them, in order, on resume', async () => {
      const { app } = h();
      const advance = (ms: number) => {
        h().advance(ms);
      };
      await addEndpoint(app, 'p-hold', 'agent-pause');
      const first = await deliver(app, 'p-hold', '{"n":1}');
      advance(1);
      expect((await patchEndpoint(app, 'p-hold', { paused: true })).status).toBe(200);
      // Paused: accepted and kept (202), never handed out; the item queued before is taken out
      // of the queue the first time a claim comes to it.
      const later: string[] = [];
      for (const n of [2, 3]) {
        advance(1);
        later.push(await deliver(app, 'p-hold', `{"n":${n}}`));
      }
      expect(await claim(app, ['agent-pause'])).toEqual([]);
      expect(await claim(app, ['agent-pause'])).toEqual([]);
      expect((await listIds(app, 'agent-pause', 'paused')).sort()).toEqual(
        [first, ...later].sort(),
      );
      expect(await show(app, 'agent-pause', first)).toMatchObject({
        state: 'paused',
        attempts: 0,
      });
      // A paused item is not replayed: the endpoint is resumed.
      const refused = await app.request(`/v1/webhooks/agent-pause/${first}/replay`, {
        method: 'POST',
        headers: auth,
      });
      expect(refused.status).toBe(409);
      expect(await refused.text()).toMatch(/resume the endpoint/);

      const resumed = await patchEndpoint(app, 'p-hold', { paused: false });
      expect(await resumed.json()).toMatchObject({ resumed: 3, resumeDone: true });
      expect((await claim(app, ['agent-pause'])).map((item) => item.id)).toEqual([first, ...later]);
      expect(await listIds(app, 'agent-pause', 'paused')).toEqual([]);
    });

    it('resumes, within a minute, items of an endpoint resumed where it was not seen', async () => {
      // Another instance (or a resume cut short) changed the endpoint without moving its items:
      // the queue's periodic check finds them, one row read per paused endpoint.
      const { app } = h();
      const advance = (ms: number) => {
        h().advance(ms);
      };
      await addEndpoint(app, 'p-other', 'agent-other', { paused: true });
      await addEndpoint(app, 'p-still', 'agent-other', { paused: true });
      const kept = await deliver(app, 'p-other', '{"other":1}');
      const still = await deliver(app, 'p-still', '{"still":1}');
      expect(await claim(app, ['agent-other'])).toEqual([]);
      const { storage } = on;
      const row = await storage.tables.get('endpoints', 'endpoint', 'p-other');
      const endpoint = JSON.parse(String(row?.properties['json'])) as Record<string, unknown>;
      await storage.tables.update(
        'endpoints',
        {
          partitionKey: 'endpoint',
          rowKey: 'p-other',
          properties: { json: JSON.stringify({ ...endpoint, paused: false }) },
        },
        row?.etag ?? '',
      );
      advance(61_000);
      expect((await claim(app, ['agent-other'])).map((item) => item.id)).toEqual([kept]);
      expect(await listIds(app, 'agent-other', 'paused')).toEqual([still]);
    });

    it('wakes the agent with a notice when an item goes dead, once per endpoint per hour', async () => {
      const { app } = h();
      const advance = (ms: number) => {
        h().advance(ms);
      };
      await addEndpoint(app, 'd-notify', 'agent-dead', { notifyDead: true });
      await addEndpoint(app, 'd-quiet', 'agent-dead');
      const kill = async (endpointId: string, body: string) => {
        const id = await deliver(app, endpointId, body);
        const claimed = await claim(app, ['agent-dead']);
        const item = claimed.find((candidate) => candidate.id === id);
        await settle(app, [
          {
            agentId: 'agent-dead',
            id,
            leaseId: item?.leaseId,
            outcome: 'rejected',
            status: 404,
            reason: 'the gateway has no hooks mapping "deploy"',
          },
        ]);
        return { id, others: claimed.filter((candidate) => candidate.id !== id) };
      };

      const quiet = await kill('d-quiet', '{"quiet":1}');
      expect(await claim(app, ['agent-dead'])).toEqual([]);
      expect(quiet.others).toEqual([]);

      const first = await kill('d-notify', '{"dead":1}');
      const [notice] = await claim(app, ['agent-dead']);
      expect(notice).toMatchObject({
        provider: 'nexus',
        eventType: 'nexus.dead_webhook',
        endpointId: 'd-notify',
        delivery: { action: 'wake' },
      });
      expect(JSON.parse(Buffer.from(notice?.body ?? '', 'base64').toString())).toMatchObject({
        webhookId: first.id,
        agentId: 'agent-dead',
        endpointId: 'd-notify',
        lastStatus: 404,
        lastError: 'the gateway has no hooks mapping "deploy"',
      });
      // A notice that cannot be delivered does not make another one.
      await settle(app, [
        {
          agentId: 'agent-dead',
          id: notice?.id,
          leaseId: notice?.leaseId,
          outcome: 'rejected',
          reason: 'no wake',
        },
      ]);

      advance(30 * MINUTE);
      const second = await kill('d-notify', '{"dead":2}');
      expect(second.others).toEqual([]);
      expect(await claim(app, ['agent-dead'])).toEqual([]);

      advance(31 * MINUTE);
      await kill('d-notify', '{"dead":3}');
      const [next] = await claim(app, ['agent-dead']);
      expect(next).toMatchObject({ provider: 'nexus', endpointId: 'd-notify' });
      expect(next?.id).not.toBe(notice?.id);
    });

    it("shows the host's dead webhooks in its status, and fewer after a replay", async () => {
      const { app } = h();
      const hostStatus = async () => {
        const response = await app.request('/v1/hosts/default', { headers: auth });
        return (await json<{ status: { deadWebhooks: number; reason: string } }>(response)).status;
      };
      expect(
        (
          await app.request('/v1/hosts/default', {
            method: 'PUT',
            headers: auth,
            body: '{}',
          })
        ).status,
      ).toBe(200);
      const before = (await hostStatus()).deadWebhooks;
      await addEndpoint(app, 'd-count', 'agent-count');
      const ids = [
        await deliver(app, 'd-count', '{"count":1}'),
        await deliver(app, 'd-count', '{"count":2}'),
      ];
      const claimed = await claim(app, ['agent-count']);
      await settle(
        app,
        claimed.map((item) => ({
          agentId: 'agent-count',
          id: item.id,
          leaseId: item.leaseId,
          outcome: 'rejected',
          reason: 'bad request',
        })),
      );
      const status = await hostStatus();
      expect(status.deadWebhooks).toBe(before + 2);
      expect(status.reason).toMatch(/dead webhooks? \(last at/);
      await app.request(`/v1/webhooks/agent-count/${ids[0] ?? ''}/replay`, {
        method: 'POST',
        headers: auth,
      });
      expect((await hostStatus()).deadWebhooks).toBe(before + 1);
    });
  },
);

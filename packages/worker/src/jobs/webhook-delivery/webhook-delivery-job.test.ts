import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClaimedWebhook, WebhookSettlement } from '@nexus/core';
import type { NexusApi } from '../../api-client/nexus-client.ts';
import type { Clock } from '../../clock.ts';
import type { WorkerServices } from '../../worker-services.ts';
import type { GatewayClient } from './gateway-client.ts';
import type { GatewayOutcome } from './gateway-outcome.ts';
import type { GatewayRequest } from './gateway-request.ts';
import { webhookDeliveryConfigSchema } from './webhook-delivery-config.ts';
import { WebhookDeliveryJob } from './webhook-delivery-job.ts';

const claimed = (id: string): ClaimedWebhook => ({
  id,
  hostId: 'laptop',
  agentId: 'main',
  endpointId: 'gh',
  provider: 'github',
  eventType: 'issues',
  dedupeKey: id,
  receivedAt: '2026-11-25T12:00:00.000Z',
  contentType: 'application/json',
  bytes: 2,
  state: 'leased',
  attempts: 1,
  replays: 0,
  action: 'agent',
  leaseId: `lease-${id}`,
  leaseUntil: '2026-11-25T12:01:00.000Z',
  delivery: { action: 'agent' },
  headers: {},
  body: Buffer.from('{}').toString('base64'),
});

/** A run of the delivery loop against stand-ins: a fake clock, a scripted gateway and API. */
function harness(
  batches: ClaimedWebhook[][],
  answers: GatewayOutcome[],
  send?: (request: GatewayRequest) => Promise<GatewayOutcome>,
  /** One at a time unless said: most tests here follow one webhook's way through the loop. */
  concurrency = 1,
  /** Reports to the API are answered once this resolves (a slow API). */
  settleGate: Promise<void> = Promise.resolve(),
) {
  const settled: WebhookSettlement[][] = [];
  const sleeps: number[] = [];
  const requests: GatewayRequest[] = [];
  const controller = new AbortController();
  let now = Date.parse('2026-11-25T12:00:00.000Z');
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      // The loop went idle once every batch was handed out: stop it.
      if (batches.length === 0) controller.abort();
      return Promise.resolve();
    },
  };
  const client = {
    claimWebhooks: () => Promise.resolve(batches.shift() ?? []),
    settleWebhooks: async (results: readonly WebhookSettlement[]) => {
      settled.push([...results]);
      await settleGate;
      return Promise.resolve(
        results.map((r) => ({
          id: r.id,
          ok: true as const,
          state: 'pending' as const,
          attempts: 1,
        })),
      );
    },
  } as unknown as NexusApi;
  const gateway: GatewayClient = {
    send: (request) => {
      requests.push(request);
      if (send) return send(request);
      return Promise.resolve(answers.shift() ?? { kind: 'delivered', status: 200 });
    },
    answers: () => Promise.resolve(true),
  };
  const services = {
    config: { path: '/x/worker.json', openclaw: { stateDir: '/nonexistent', agents: undefined } },
    client,
    logger: pino({ level: 'silent' }),
    env: {},
    clock,
  } as unknown as WorkerServices;
  const config = webhookDeliveryConfigSchema.parse({
    agents: ['main'],
    gateway: { url: 'http://127.0.0.1:18789', token: 't' },
    pollSeconds: 2,
    concurrency,
  });
  const job = new WebhookDeliveryJob('webhooks', config, services, gateway);
  const run = () =>
    job.run({
      signal: controller.signal,
      logger: pino({ level: 'silent' }),
      dryRun: false,
      interactive: false,
    });
  return {
    run,
    settled,
    sleeps,
    requests,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('the webhook delivery loop, on a fake clock', () => {
  it('settles each webhook as the gateway answers, pauses for Retry-After on 429, and hands back the rest', async () => {
    const { run, settled, sleeps } = harness(
      [[claimed('a'), claimed('b'), claimed('c')]],
      [
        { kind: 'delivered', status: 200 },
        { kind: 'released', status: 429, reason: 'busy', retryAfterSeconds: 7, pause: 'busy' },
      ],
    );
    const result = await run();
    expect(settled).toEqual([
      [
        {
          hostId: 'laptop',
          agentId: 'main',
          id: 'a',
          leaseId: 'lease-a',
          outcome: 'delivered',
          status: 200,
        },
      ],
      [
        {
          hostId: 'laptop',
          agentId: 'main',
          id: 'b',
          leaseId: 'lease-b',
          outcome: 'released',
          status: 429,
          reason: 'busy',
          retryAfterSeconds: 7,
        },
      ],
      [
        {
          hostId: 'laptop',
          agentId: 'main',
          id: 'c',
          leaseId: 'lease-c',
          outcome: 'released',
          status: 0,
          reason: 'busy',
          retryAfterSeconds: 7,
        },
      ],
    ]);
    expect(sleeps[0]).toBe(7000);
    expect(result.counts).toMatchObject({ claimed: 3, delivered: 1, released: 2 });
  });

  it('polls every pollSeconds while the queue is empty', async () => {
    const { run, sleeps } = harness([[], []], []);
    await run();
    expect(sleeps.slice(0, 2)).toEqual([2000, 2000]);
  });

  it('sends a notice that names a webhook too large for the gateway, and gives up on what it refuses for good', async () => {
    const tooLarge = {
      kind: 'too_large',
      status: 413,
      reason: 'over hooks.maxBodyBytes (413)',
    } as const;
    const { run, settled, requests } = harness(
      [[claimed('big'), claimed('huge'), claimed('lost')]],
      [
        tooLarge,
        { kind: 'delivered', status: 200 },
        tooLarge,
        tooLarge,
        { kind: 'rejected', status: 404, reason: 'the gateway has no such hook (404)' },
      ],
    );
    await run();
    // big: refused as too large, then its notice delivered, under the item's own key.
    const notice = JSON.parse(requests[1]?.body ?? '{}') as Record<string, unknown>;
    expect(requests[1]?.headers['x-nexus-notice']).toBe('body-too-large');
    expect(notice['idempotencyKey']).toBe('big');
    expect(notice['message']).toContain(
      'nexus webhooks show main big --host laptop --body, or GET /v1/hosts/laptop/agents/main/webhooks/big/body',
    );
    expect(settled.flat().map((s) => [s.id, s.outcome])).toEqual([
      ['big', 'delivered'],
      // huge: even the notice was too large: dead at once, not retried.
      ['huge', 'rejected'],
      ['lost', 'rejected'],
    ]);
    expect(settled.flat()[2]).toMatchObject({
      status: 404,
      reason: 'the gateway has no such hook (404)',
    });
  });

  it('ends the run failed on a refused hooks token, so the host’s status says so, handing the batch back', async () => {
    const { run, settled } = harness(
      [[claimed('a'), claimed('b')], [claimed('c')]],
      [
        {
          kind: 'released',
          status: 401,
          reason: 'the gateway refused the hooks token (401)',
          retryAfterSeconds: 0,
          pause: 'unauthorized',
        },
      ],
    );
    const result = await run();
    expect(result.success).toBe(false);
    expect(result.message).toBe('stopped delivering: the gateway refused the hooks token (401)');
    expect(settled.flat().map((s) => [s.id, s.outcome])).toEqual([
      ['a', 'released'],
      ['b', 'released'],
    ]);
  });

  it('sends webhooks for different sessions side by side, and those for one session in order', async () => {
    const as = (id: string, action: 'agent' | 'wake' | 'mapping', endpointId = 'gh') => ({
      ...claimed(id),
      endpointId,
      delivery: action === 'mapping' ? { action, mapping: 'x' } : { action },
    });
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    const { run, settled } = harness(
      [
        [
          as('w1', 'wake'),
          as('g1', 'agent'),
          as('m1', 'mapping', 'ci'),
          as('w2', 'wake'),
          as('g2', 'agent'),
          as('m2', 'mapping', 'ci'),
          as('g3', 'agent'),
          as('w3', 'wake'),
        ],
      ],
      [],
      async (request) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        order.push(request.headers['x-nexus-webhook-id'] ?? '');
        inFlight -= 1;
        return { kind: 'delivered', status: 200 };
      },
      4,
    );
    await run();
    expect(most).toBe(4);
    // Wake events share the main session; one mapping's calls keep their order too.
    expect(order.filter((id) => id.startsWith('w'))).toEqual(['w1', 'w2', 'w3']);
    expect(order.filter((id) => id.startsWith('m'))).toEqual(['m1', 'm2']);
    // Each settled on its own, as soon as it was answered.
    expect(settled.map((batch) => batch.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('claims the next webhooks while one is still under way, keeping one session in order across claims', async () => {
    const as = (id: string, action: 'agent' | 'wake') => ({ ...claimed(id), delivery: { action } });
    const events: string[] = [];
    const { run, settled } = harness(
      [
        [as('slow', 'agent'), as('w1', 'wake')],
        [as('w2', 'wake'), as('g2', 'agent')],
      ],
      [],
      async (request) => {
        const id = request.headers['x-nexus-webhook-id'] ?? '';
        events.push(`start ${id}`);
        await new Promise((resolve) => setTimeout(resolve, id === 'slow' ? 200 : 20));
        events.push(`end ${id}`);
        return { kind: 'delivered', status: 200 };
      },
      4,
    );
    await run();
    // The second claim's webhooks did not wait for the first claim's slowest one...
    expect(events.indexOf('end g2')).toBeLessThan(events.indexOf('end slow'));
    // ...but a wake event of the second claim waited for the one before it to end.
    expect(events.indexOf('start w2')).toBeGreaterThan(events.indexOf('end w1'));
    expect(
      settled
        .flat()
        .map((result) => result.id)
        .sort(),
    ).toEqual(['g2', 'slow', 'w1', 'w2']);
  });

  it('stops delivering while twice `concurrency` results wait for a slow API, and goes on when it answers', async () => {
    let answer: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const items = Array.from({ length: 30 }, (_, n) => claimed(`i${String(n)}`));
    const { run, requests, settled } = harness([items], [], undefined, 2, gate);
    const running = run();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Four results unreported (2 × 2), and at most one more that was in flight when the limit
    // was reached: what a crash now would send again.
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.length).toBeLessThanOrEqual(5);
    answer();
    await running;
    expect(requests).toHaveLength(30);
    expect(settled.flat()).toHaveLength(30);
  });

  it('does not send a webhook whose lease ran out while it waited for a slot', async () => {
    let advance: (ms: number) => void = () => undefined;
    const t = harness(
      [[claimed('slow'), claimed('waited')]],
      [],
      () => {
        // The first delivery outlasts the 60 s lease of the one waiting behind it.
        advance(61_000);
        return Promise.resolve({ kind: 'delivered', status: 200 });
      },
      1,
    );
    advance = t.advance;
    const result = await t.run();
    expect(t.requests.map((request) => request.headers['x-nexus-webhook-id'])).toEqual(['slow']);
    expect(t.settled.flat().map((settlement) => settlement.id)).toEqual(['slow']);
    expect(result.counts).toMatchObject({ delivered: 1, leaseLost: 1 });
  });
});

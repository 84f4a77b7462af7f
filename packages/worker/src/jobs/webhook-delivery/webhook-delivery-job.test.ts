import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClaimedWebhook, WebhookSettlement } from '@nexus/core';
import type { NexusApi } from '../../api-client/nexus-client.ts';
import type { Clock } from '../../clock.ts';
import type { WorkerServices } from '../../worker-services.ts';
import type { GatewayClient } from './gateway-client.ts';
import type { GatewayOutcome } from './gateway-outcome.ts';
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
function harness(batches: ClaimedWebhook[][], answers: GatewayOutcome[]) {
  const settled: WebhookSettlement[][] = [];
  const sleeps: number[] = [];
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
    settleWebhooks: (results: readonly WebhookSettlement[]) => {
      settled.push([...results]);
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
    send: () => Promise.resolve(answers.shift() ?? { kind: 'delivered', status: 200 }),
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
  });
  const job = new WebhookDeliveryJob('webhooks', config, services, gateway);
  const run = () =>
    job.run({
      signal: controller.signal,
      logger: pino({ level: 'silent' }),
      dryRun: false,
      interactive: false,
    });
  return { run, settled, sleeps };
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
});

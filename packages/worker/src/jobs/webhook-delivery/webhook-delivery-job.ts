import { dirname } from 'node:path';
import {
  webhookDeliveryConfigSchema,
  type WebhookDeliveryConfig,
} from './webhook-delivery-config.ts';
import { ConfigError, coerceError, type ClaimedWebhook, type WebhookSettlement } from '@nexus/core';

import { discoverAgents } from '../../openclaw/state-dir.ts';
import type { WorkerServices } from '../../worker-services.ts';
import {
  ConfiguredJob,
  finishedRun,
  type JobContext,
  type JobResult,
  type JobType,
} from '../job.ts';
import { httpGatewayClient, type GatewayClient } from './gateway-client.ts';
import type { GatewayOutcome } from './gateway-outcome.ts';
import { buildNoticeRequest, buildGatewayRequest } from './gateway-request.ts';
import { resolveGateway, type GatewayTarget } from './gateway-target.ts';
import { SettleQueue } from './settle-queue.ts';
import { handedBack, settlementOf } from './settlement.ts';
import { KeyedPool } from './keyed-pool.ts';

export const webhookDeliveryJobType: JobType<typeof webhookDeliveryConfigSchema> = {
  description:
    'pulls webhooks the Nexus API accepted and hands them to the local OpenClaw gateway (/hooks)',
  configSchema: webhookDeliveryConfigSchema,
  create: (id, config, services) => new WebhookDeliveryJob(id, config, services),
};

type Counts = Record<'claimed' | 'delivered' | 'failed' | 'released' | 'leaseLost', number>;

/**
 * `webhook_delivery`: claims due webhooks with a lease, sends each to the gateway per its
 * endpoint's action, and settles it: 2xx delivered; other answers failed (the API retries with
 * backoff, then dead-letters); gateway down, busy (429) or refusing the token: released, not
 * counted, and sending pauses.
 *
 * Under the scheduler a run lasts until the worker stops: while idle it waits on the API (a claim
 * the API holds up to `waitSeconds`, answered as soon as a webhook is stored); while delivering it
 * claims the next webhooks before the last ones are done, so `concurrency` deliveries stay under
 * way (`KeyedPool`: one OpenClaw session's webhooks in order, `laneOf`). If the run ends (an
 * error), the scheduler starts it again at its next interval. `--job` drains what is due and
 * returns.
 */
export class WebhookDeliveryJob extends ConfiguredJob<WebhookDeliveryConfig> {
  override readonly continuous = true;
  private readonly gatewayClient: GatewayClient;

  constructor(
    id: string,
    config: WebhookDeliveryConfig,
    services: WorkerServices,
    gatewayClient: GatewayClient = httpGatewayClient,
  ) {
    super(id, config, services);
    this.gatewayClient = gatewayClient;
  }

  async run(context: JobContext): Promise<JobResult> {
    const started = performance.now();
    const { logger, signal } = context;
    const counts: Counts = { claimed: 0, delivered: 0, failed: 0, released: 0, leaseLost: 0 };
    const errors: { item: string; message: string }[] = [];
    // A continuous run lasts as long as the worker: keep the first errors, not all of them.
    const report = (item: string, message: string) => {
      if (errors.length < 50) errors.push({ item, message });
    };
    // Results go to the API as they come in, without holding up the next delivery; at most
    // twice `concurrency` of them wait for a report (with `concurrency` more in flight at the
    // gateway), what a crash would send again once their leases end (OpenClaw drops a repeat
    // within about 5 minutes). Twice: while one report is under way, the lanes fill the next
    // instead of waiting for it (delivery ran at `concurrency` per report's round trip).
    const settler = new SettleQueue(
      (batch) => this.settle(batch, context, counts),
      2 * this.config.concurrency,
    );
    const finish = async (message: string): Promise<JobResult> => {
      await settler.drain();
      return finishedRun(started, { success: errors.length === 0, message, counts, errors });
    };

    let target: GatewayTarget;
    try {
      target = await this.gateway();
    } catch (caught) {
      const error = coerceError(caught);
      errors.push({ item: 'gateway', message: error.message });
      return finish(error instanceof ConfigError ? error.message : `gateway: ${error.message}`);
    }
    const agents = await this.agents();
    if (context.dryRun) return finish(await this.dryRun(agents, target, context));
    logger.info(
      `delivering webhooks of ${agents.join(', ')} to ${target.hooksUrl} (settings from ${target.source})`,
    );

    const once = context.once ?? false;
    // A function, not the property: the checker would narrow `signal.aborted` to false in the loop.
    const stopped = () => signal.aborted;
    const poll = this.config.pollSeconds * 1000;
    let apiFailures = 0;
    let gatewayDownSince: number | undefined;
    // Set by the first answer that asks to stop sending; from then on no webhook goes out, and
    // the ones claimed are handed back, until the loop has dealt with it.
    let pause: Extract<GatewayOutcome, { kind: 'released' }> | undefined;
    const paused = () => pause !== undefined;
    // When each claimed webhook's lease ends, on this machine's clock: the API leases a claim's
    // webhooks as it answers (a held claim, when one is due), so from the answer's arrival, less
    // a second for its way here. A webhook whose lease ran out while it waited for a slot may be
    // another claim's by now: it is not sent, and comes back from the queue.
    const leases = new Map<string, number>();
    const pool = new KeyedPool<ClaimedWebhook>(this.config.concurrency, laneOf, async (item) => {
      try {
        await deliverClaimed(item);
      } finally {
        leases.delete(item.id);
      }
    });
    const deliverClaimed = async (item: ClaimedWebhook) => {
      if ((leases.get(item.id) ?? 0) <= this.services.clock.now()) {
        counts.leaseLost += 1;
        logger.warn(
          `${item.id}: its ${this.config.leaseSeconds} s lease ran out before its turn; not sent, it comes back from the queue`,
        );
        return;
      }
      if (pause !== undefined || signal.aborted) {
        counts.released += 1;
        settler.add(
          handedBack(
            item,
            pause?.reason ?? 'the worker is stopping',
            pause?.retryAfterSeconds ?? 0,
          ),
        );
        return;
      }
      const outcome = await this.deliverOne(item, target, signal);
      const label = `${item.id} (${item.provider} ${item.eventType}, ${item.delivery.action})`;
      if (outcome.kind === 'delivered') {
        counts.delivered += 1;
        logger.info(`delivered ${label}: ${String(outcome.status)}${outcome.note ?? ''}`);
      } else if (outcome.kind === 'failed') {
        counts.failed += 1;
        logger.warn(`could not deliver ${label}: ${outcome.reason}`);
      } else if (outcome.kind === 'rejected' || outcome.kind === 'too_large') {
        counts.failed += 1;
        logger.error(`the gateway refused ${label}, for good: ${outcome.reason}`);
      } else {
        counts.released += 1;
        pause ??= outcome;
      }
      settler.add(settlementOf(item, outcome));
      await settler.room();
    };
    const end = async (message: string) => {
      await pool.idle();
      return finish(message);
    };

    while (!signal.aborted) {
      if (pause !== undefined) {
        // Every webhook under way has its answer, the rest were handed back.
        await pool.idle();
        const asked = pause;
        pause = undefined;
        if (asked.pause === 'down') {
          gatewayDownSince = this.services.clock.now();
          logger.warn(`${asked.reason}; webhooks stay queued until it is back`);
          if (once) report('gateway', asked.reason);
        } else if (asked.pause === 'unauthorized') {
          // The run ends failed: its report makes the host's status say why, and the scheduler
          // starts the next run within a minute, reading the token afresh from openclaw.json.
          report('gateway', asked.reason);
          logger.error(asked.reason);
          return end(`stopped delivering: ${asked.reason}`);
        } else {
          logger.info(`${asked.reason}; pausing ${asked.retryAfterSeconds} s`);
          if (!once) await this.sleep(asked.retryAfterSeconds * 1000, signal);
        }
        if (once) break;
        continue;
      }
      if (gatewayDownSince !== undefined) {
        if (!(await this.gatewayClient.answers(target.hooksUrl))) {
          if (once) {
            report('gateway', `${target.hooksUrl} is unreachable`);
            break;
          }
          const downFor = this.services.clock.now() - gatewayDownSince;
          await this.sleep(Math.min(Math.max(poll, 5000), 1000 + downFor / 4), signal);
          continue;
        }
        logger.info(
          `the gateway is back after ${Math.round((this.services.clock.now() - gatewayDownSince) / 1000)} s`,
        );
        gatewayDownSince = undefined;
      }
      // The next claim goes out while the last ones are still being delivered, once fewer than
      // `concurrency` claimed webhooks wait to start: no slot waits for a claim's round trip.
      await pool.below(this.config.concurrency);
      if (paused()) continue;
      // Waiting on the API only when nothing is under way: an answer that asks for a pause is
      // dealt with at once, not after a held claim.
      const busy = !pool.isIdle;
      const waitSeconds = once || busy ? 0 : this.config.waitSeconds;
      const askedAt = this.services.clock.now();
      let items: ClaimedWebhook[];
      try {
        items = await this.services.client.claimWebhooks(
          agents,
          this.config.batchSize,
          this.config.leaseSeconds,
          signal,
          waitSeconds,
        );
      } catch (caught) {
        if (stopped()) break;
        apiFailures += 1;
        const message = coerceError(caught).message;
        if (apiFailures === 1 || once) logger.warn(`cannot claim webhooks: ${message}`);
        if (once) {
          report('claim', message);
          break;
        }
        await this.sleep(Math.min(30_000, poll * 2 ** apiFailures), signal);
        continue;
      }
      if (apiFailures > 0) logger.info('the Nexus API answers again');
      apiFailures = 0;
      if (items.length > 0) {
        counts.claimed += items.length;
        const until = this.services.clock.now() + this.config.leaseSeconds * 1000 - 1000;
        // One already here (its lease ran out while it waited, and this claim leased it again)
        // goes once, under the new lease's time (the API takes a delivery under any lease it
        // issued for the item).
        const fresh = items.filter((item) => !leases.has(item.id));
        for (const item of items) leases.set(item.id, until);
        pool.add(fresh);
        continue;
      }
      if (busy) {
        // Nothing more is due yet: let what is under way finish, then wait on the API.
        await pool.idle();
        continue;
      }
      if (once) break;
      // A claim the API held came back empty at the end of its wait: ask again at once. One
      // answered at once (waiting off, or an API that does not wait) pauses first.
      const held = waitSeconds > 0 && this.services.clock.now() - askedAt >= 1000;
      if (!held) await this.sleep(poll, signal);
    }
    return end(
      `${counts.delivered} delivered, ${counts.failed} failed (will be retried or dead-lettered by the API), ${counts.released} handed back`,
    );
  }

  private async deliverOne(
    item: ClaimedWebhook,
    target: GatewayTarget,
    signal: AbortSignal,
  ): Promise<GatewayOutcome> {
    let body: Uint8Array;
    try {
      body =
        item.body !== undefined
          ? Buffer.from(item.body, 'base64')
          : await this.services.client.webhookBody(item.bodyUrl ?? '', signal);
    } catch (caught) {
      return {
        kind: 'released',
        status: 0,
        reason: `could not fetch the body from Nexus: ${coerceError(caught).message}`,
        retryAfterSeconds: 5,
        pause: 'busy',
      };
    }
    const options = {
      agentOptions: this.config.agentOptions,
      wakeMode: this.config.wakeMode,
      maxMessageChars: this.config.maxMessageChars,
    };
    const timeoutMs = this.config.requestTimeoutSeconds * 1000;
    const outcome = await this.gatewayClient.send(
      buildGatewayRequest(item, body, target, options),
      timeoutMs,
    );
    if (outcome.kind !== 'too_large') return outcome;
    // Never lose an item to the gateway's body limit: a notice that names it goes instead.
    const notice = await this.gatewayClient.send(
      buildNoticeRequest(item, target, options),
      timeoutMs,
    );
    return notice.kind === 'delivered'
      ? { ...notice, note: ` (as a notice: ${outcome.reason}; the body stays in Nexus)` }
      : notice;
  }

  /** Settles results, retrying a few times: a lost report only means the lease runs out. */
  private async settle(
    settlements: readonly WebhookSettlement[],
    context: JobContext,
    counts: Counts,
  ): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        const results = await this.services.client.settleWebhooks(settlements);
        for (const result of results) {
          if (result.ok) continue;
          if (result.error.code === 'lease_lost') counts.leaseLost += 1;
          context.logger.warn(`settling ${result.id}: ${result.error.message}`);
        }
        return;
      } catch (caught) {
        context.logger.warn(
          `could not report ${settlements.length} results to Nexus (attempt ${attempt} of 3): ${coerceError(caught).message}`,
        );
        if (attempt < 3) await this.sleep(1000 * attempt, new AbortController().signal);
      }
    }
    context.logger.warn(
      `gave up reporting; those webhooks come back when their ${this.config.leaseSeconds} s lease ends; /hooks/agent ignores the repeat by its idempotencyKey only within about 5 minutes and until the gateway restarts`,
    );
  }

  private async dryRun(
    agents: readonly string[],
    target: GatewayTarget,
    context: JobContext,
  ): Promise<string> {
    let total = 0;
    for (const agentId of agents) {
      const items = await this.services.client.listWebhooks(agentId, 'pending');
      total += items.length;
      for (const item of items) {
        context.logger.info(
          `would deliver ${item.id} (${item.eventType}, ${item.bytes} bytes) to ${target.hooksUrl}/${item.action === 'mapping' ? '<mapping>' : item.action}`,
        );
      }
    }
    return `dry run: ${total} pending webhooks for ${agents.join(', ')}; nothing was claimed`;
  }

  private gateway(): Promise<GatewayTarget> {
    const { config, env } = this.services;
    return resolveGateway(this.config.gateway, config.openclaw.stateDir, env, dirname(config.path));
  }

  private async agents(): Promise<string[]> {
    if (this.config.agents) return [...this.config.agents];
    const { config, env } = this.services;
    const found = await discoverAgents(config.openclaw.stateDir, env, config.openclaw.agents);
    return found.length > 0 ? found.map((agent) => agent.agentId) : ['main'];
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return this.services.clock.sleep(ms, signal);
  }
}

/**
 * Which webhooks must go one after another, in the order the API handed them out: those that
 * reach one OpenClaw session; others go side by side. Every `agent` run gets a session of its own
 * (Nexus sets no `sessionKey`; OpenClaw gives a hook run a one-off key), so each is a lane of its
 * own; `wake` events all go to the agent's main session, one lane per agent; a mapping's target
 * is the mapping's to say, so one lane per endpoint.
 */
export function laneOf(item: ClaimedWebhook): string {
  const { action } = item.delivery;
  return action === 'agent'
    ? `run|${item.id}`
    : action === 'wake'
      ? `wake|${item.agentId}`
      : `mapping|${item.endpointId}`;
}

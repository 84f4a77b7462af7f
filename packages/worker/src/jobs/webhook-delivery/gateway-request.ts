import type { ClaimedWebhook } from '@nexus/core';
import { buildMessage, parsePayload, providerName } from './webhook-message.ts';
import type { GatewayTarget } from './gateway-target.ts';

/** Options passed through to `/hooks/agent` (see OpenClaw's hooks docs). */
export interface AgentOptions {
  readonly wakeMode?: 'now' | 'next-heartbeat' | undefined;
  readonly deliver?: boolean | undefined;
  readonly channel?: string | undefined;
  readonly to?: string | undefined;
  readonly model?: string | undefined;
  readonly thinking?: string | undefined;
  readonly timeoutSeconds?: number | undefined;
}

export interface DeliveryOptions {
  readonly agentOptions: AgentOptions;
  readonly wakeMode: 'now' | 'next-heartbeat';
  readonly maxMessageChars: number;
}

export interface GatewayRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * The gateway call for one webhook, per the endpoint's action:
 * - `wake`: `POST <hooks>/wake {text, mode, agentId}`, a system event on the main session;
 * - `agent`: `POST <hooks>/agent {message, name, agentId, idempotencyKey, ...options}`: an agent
 *   run; the item id as `idempotencyKey` makes a second delivery within OpenClaw's memory of it
 *   (5 minutes, until a gateway restart) a no-op, and a replay gets a key of its own;
 * - `mapping`: `POST <hooks>/<name>` with the payload as JSON (form fields become an object).
 */
export function buildGatewayRequest(
  webhook: ClaimedWebhook,
  body: Uint8Array,
  target: GatewayTarget,
  options: DeliveryOptions,
): GatewayRequest {
  // Leave room for the JSON envelope; the gateway answers 413 past hooks.maxBodyBytes.
  const maxChars = Math.max(
    1000,
    Math.min(options.maxMessageChars, Math.floor(target.maxBodyBytes / 2) - 2048),
  );
  const message = () =>
    buildMessage(
      {
        id: webhook.id,
        endpointId: webhook.endpointId,
        provider: webhook.provider,
        eventType: webhook.eventType,
        receivedAt: webhook.receivedAt,
        contentType: webhook.contentType,
        body,
        template: webhook.delivery.template,
        replays: webhook.replays,
      },
      maxChars,
    );
  const mappingBody = () => {
    const payload = parsePayload(webhook.contentType, body);
    const isJson = webhook.contentType.includes('json') && typeof payload !== 'string';
    // JSON bodies go as they came (byte for byte); anything else as a JSON value.
    return isJson
      ? Buffer.from(body).toString('utf8')
      : JSON.stringify(typeof payload === 'string' ? { body: payload } : payload);
  };
  return actionRequest(webhook, target, options, message, mappingBody, {});
}

/**
 * The item id; a replay adds its number. OpenClaw answers a key it saw within about 300 s with 200
 * and starts no run, so a replay under the first key would be dropped while counted as delivered.
 */
export function idempotencyKeyOf(webhook: Pick<ClaimedWebhook, 'id' | 'replays'>): string {
  const { replays } = webhook;
  return replays > 0 ? `${webhook.id}:replay-${String(replays)}` : webhook.id;
}

/**
 * What stands in for a webhook the gateway refused as too large (413, over `hooks.maxBodyBytes`):
 * the same action with a short notice that names the item and how to read its full body, which
 * Nexus keeps. Nothing of the untrusted body is in it, so it fits whatever the body was.
 */
export function buildNoticeRequest(
  webhook: ClaimedWebhook,
  target: GatewayTarget,
  options: DeliveryOptions,
): GatewayRequest {
  const notice =
    `Webhook from ${providerName(webhook.provider)} via Nexus: endpoint ${webhook.endpointId}, ` +
    `event ${webhook.eventType}, received ${webhook.receivedAt}, id ${webhook.id}. Its body ` +
    `(${String(webhook.bytes)} bytes) is larger than this gateway accepts (hooks.maxBodyBytes), so ` +
    `only this notice was delivered. Nexus keeps the whole body: nexus webhooks show ` +
    `${webhook.agentId} ${webhook.id} --host ${webhook.hostId} --body, or GET ` +
    `/v1/hosts/${webhook.hostId}/agents/${webhook.agentId}/webhooks/${webhook.id}/body.`;
  return actionRequest(
    webhook,
    target,
    options,
    () => notice,
    () => JSON.stringify({ nexusNotice: notice, webhookId: webhook.id, bytes: webhook.bytes }),
    { 'x-nexus-notice': 'body-too-large' },
  );
}

/**
 * The gateway call for an endpoint's action, given what to say: `text` for `agent` (the run's
 * message) and `wake` (the event's text), `mappingBody` for a mapping.
 */
function actionRequest(
  webhook: ClaimedWebhook,
  target: GatewayTarget,
  options: DeliveryOptions,
  text: () => string,
  mappingBody: () => string,
  extraHeaders: Readonly<Record<string, string>>,
): GatewayRequest {
  const headers = {
    authorization: `Bearer ${target.token}`,
    'content-type': 'application/json',
    'x-nexus-webhook-id': webhook.id,
    ...extraHeaders,
  };
  const { action } = webhook.delivery;
  if (action === 'wake')
    return {
      url: `${target.hooksUrl}/wake`,
      headers,
      body: JSON.stringify({ text: text(), mode: options.wakeMode, agentId: webhook.agentId }),
    };
  if (action === 'agent')
    return {
      url: `${target.hooksUrl}/agent`,
      headers,
      body: JSON.stringify({
        message: text(),
        name: `${providerName(webhook.provider)} (${webhook.endpointId})`,
        agentId: webhook.agentId,
        idempotencyKey: idempotencyKeyOf(webhook),
        ...options.agentOptions,
      }),
    };
  return {
    url: `${target.hooksUrl}/${encodeURIComponent(webhook.delivery.mapping ?? '')}`,
    headers: {
      ...headers,
      'x-nexus-provider': webhook.provider,
      'x-nexus-event': webhook.eventType,
    },
    body: mappingBody(),
  };
}

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  ForbiddenError,
  MethodNotAllowedError,
  ValidationError,
  RequestTimeoutError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnavailableError,
  validateId,
  type Storage,
  scopeKey,
} from '@nexus/core';
import { acceptsEvent, deliveryActionOf, type Endpoint } from './endpoint.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import { INLINE_BODY_BYTES, blobKeyOf } from './webhook-item.ts';
import type { WebhookQueue } from './webhook-queue.ts';
import type { ReadBudget } from './read-budget.ts';
import { precheckSignature, verifySignature } from './verify-signature.ts';
import { jsonFields, type JsonFields } from './json-fields.ts';
import { PRESETS, type Preset, type Source } from './provider-presets.ts';

/** GitHub caps payloads at 25 MB (WEBHOOKS.md); most are under 20 KB. */
export const DEFAULT_MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

export interface WebhookIngestDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly maxWebhookBytes: number;
  readonly queue: WebhookQueue;
  readonly endpoints: EndpointCache;
  /** Bytes read at once on this route, across requests. */
  readonly readBudget: ReadBudget;
  /** A body must arrive within this (senders post a few KB and wait 3 to 10 s). */
  readonly readTimeoutMs: number;
  /** The public address of this API, when a proxy stands in front (`NEXUS_PUBLIC_URL`). */
  readonly publicUrl?: string;
}

export type WebhookIngestResult =
  /** `filtered`: stored, answered 2xx, never delivered (an event type the endpoint does not take). */
  | { readonly status: 'accepted' | 'duplicate' | 'filtered'; readonly id: string }
  /** What the sender must get back instead (a handshake, or the answer its protocol needs). */
  | { readonly status: 'answer'; readonly body: string; readonly contentType: string };

/** Headers never kept: credentials, hop-by-hop and proxy noise. Everything else may be needed to verify again. */
const DROPPED_HEADERS = new Set([
  'authorization',
  'cookie',
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'proxy-authorization',
]);

/**
 * Accepts one delivery for an endpoint: checks it exists and is enabled, reads at most the size
 * limit, verifies the signature on the raw bytes, and stores body and metadata durably before
 * answering (providers give 3 to 10 s: nothing slow happens here).
 *
 * Dedupe: the item id is derived from the endpoint and the provider's delivery id (else the
 * body's SHA-256), and its row is written create-only, so that row is the dedupe record. A body
 * over 16 KiB is stored as a blob first (a crash before the row leaves a blob that the provider's
 * retry completes); a smaller one travels inside the row, one write instead of two.
 */
export async function ingestWebhook(
  deps: WebhookIngestDeps,
  endpointIdInput: string,
  request: Request,
): Promise<WebhookIngestResult> {
  const { storage } = deps;
  const endpointId = validateId('endpoint id', endpointIdInput);
  const endpoint = await deps.endpoints.get(endpointId);
  if (!endpoint)
    throw new NotFoundError(
      `There is no webhook endpoint ${endpointId}; create one with "nexus endpoints add" or POST /v1/endpoints.`,
      'endpoint_not_found',
    );
  if (!endpoint.enabled)
    throw new ForbiddenError(
      'endpoint_disabled',
      `Endpoint ${endpointId} is disabled; enable it again (PATCH /v1/endpoints/${endpointId} {"enabled":true}) to accept deliveries.`,
    );

  const precheck = precheckSignature(endpoint.provider, request.headers);
  if (!precheck.ok)
    throw new UnauthorizedError(
      `The ${endpoint.provider.type} signature was refused: ${precheck.reason}. Check the sender's webhook settings.`,
    );
  const body = await readBounded(request, deps);
  const now = deps.now();
  const field = jsonFields(body);
  const verdict = verifySignature(endpoint.provider, {
    headers: request.headers,
    body,
    fields: field,
    secrets: endpoint.secrets,
    nowSeconds: Math.floor(now.getTime() / 1000),
    url: publicUrlOf(request.url, deps.publicUrl),
  });
  if (!verdict.ok)
    throw new UnauthorizedError(
      `The ${endpoint.provider.type} signature was refused: ${verdict.reason}. Check the secret configured at the sender.`,
    );

  const handshake = handshakeAnswer(endpoint, request.headers, body, field, now);
  if (handshake !== undefined) return handshake;

  const dedupeKey = dedupeKeyOf(endpoint, request.headers, body, field);
  const nowMs = now.getTime();
  const ids = itemIdsFor(endpoint.id, dedupeKey, nowMs);
  for (const candidate of ids) {
    if (await storage.tables.get('webhooks', scopeKey(endpoint), candidate))
      return { status: 'duplicate', id: candidate };
  }
  const id = ids[0] ?? '';
  const contentType = request.headers.get('content-type') ?? 'application/octet-stream';
  const inline = body.byteLength <= INLINE_BODY_BYTES;
  if (!inline) {
    await storage.blobs.putIfAbsent(blobKeyOf(endpoint, id), body, { contentType });
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers)
    if (!DROPPED_HEADERS.has(name)) headers[name] = value;
  // A shared token is the credential itself, not a signature of this body: never keep it.
  if (endpoint.provider.type === 'token') headers[endpoint.provider.header] = '[redacted]';
  const eventType = eventTypeOf(endpoint, request.headers, body, field);
  const placement = !acceptsEvent(endpoint, eventType)
    ? 'filtered'
    : endpoint.paused === true
      ? 'paused'
      : 'queue';
  const created = await deps.queue.enqueue(
    {
      hostId: endpoint.hostId,
      agentId: endpoint.agentId,
      id,
      endpointId: endpoint.id,
      provider: endpoint.provider.type,
      eventType,
      dedupeKey,
      receivedAt: now.toISOString(),
      contentType,
      bytes: body.byteLength,
      // Node caps request headers at 16 KB, far below a row's 1 MiB; packJson splits past 32 K characters.
      headers,
      ...(inline ? { inlineBody: Buffer.from(body).toString('base64') } : {}),
      delivery: deliveryActionOf(endpoint),
    },
    placement,
  );
  // Discord wants an interaction response within 3 s: "deferred" (the user sees the app thinking;
  // the agent can follow up through the interaction's webhook).
  if (endpoint.provider.type === 'discord') return DISCORD_DEFERRED;
  return {
    status: !created ? 'duplicate' : placement === 'filtered' ? 'filtered' : 'accepted',
    id,
  };
}

/** Deliveries without a delivery id are deduplicated on their bytes for at least this long. */
export const BODY_DEDUPE_WINDOW_MS = 60 * 60_000;

/**
 * The item id is derived from the endpoint and the dedupe key, so the item's create-only row is the
 * dedupe record. A body hash is only a dedupe key within a window (the same bytes a day later are a
 * new event, e.g. a repeated slash command): its id includes the hour, and the previous hour's id
 * is checked too, so a retry is recognised for between one and two hours.
 */
export function itemIdsFor(endpointId: string, dedupeKey: string, nowMs: number): string[] {
  const id = (suffix: string) =>
    `wh_${createHash('sha256').update(`${endpointId}\n${dedupeKey}${suffix}`).digest('hex').slice(0, 32)}`;
  if (!dedupeKey.startsWith('sha256:')) return [id('')];
  const window = Math.floor(nowMs / BODY_DEDUPE_WINDOW_MS);
  return [id(`\n${window}`), id(`\n${window - 1}`)];
}

/**
 * The body, read within the route's byte budget and time limit: 503 with `Retry-After` when the
 * budget is spent, 408 when the sender is too slow.
 */
async function readBounded(request: Request, deps: WebhookIngestDeps): Promise<Uint8Array> {
  const announced = Number(request.headers.get('content-length') ?? NaN);
  const max = deps.maxWebhookBytes;
  const release = deps.readBudget.take(Number.isFinite(announced) ? Math.min(announced, max) : max);
  if (release === undefined)
    throw new UnavailableError(
      'Too many webhook deliveries are being received at once; send this one again shortly.',
      { retryAfterSeconds: 5 },
    );
  const read = readLimited(request, max);
  // A read abandoned after the time limit fails when the connection closes: nothing to report.
  read.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new RequestTimeoutError(
          `The delivery's body took longer than ${String(deps.readTimeoutMs / 1000)} s to arrive; send it again.`,
        ),
      );
    }, deps.readTimeoutMs);
  });
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    release();
  }
}

async function readLimited(request: Request, max: number): Promise<Uint8Array> {
  const announced = Number(request.headers.get('content-length') ?? NaN);
  const tooLarge = () =>
    new PayloadTooLargeError(
      `The delivery is larger than ${max} bytes, this server's limit for webhooks (NEXUS_MAX_WEBHOOK_BYTES).`,
    );
  if (Number.isFinite(announced) && announced > max) throw tooLarge();
  // With a length announced (and Node holding the sender to it), read it whole: the adapter's
  // fast path, without a web stream per request (bench B3).
  if (Number.isFinite(announced)) return new Uint8Array(await request.arrayBuffer());
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of (request.body ?? []) as AsyncIterable<Uint8Array>) {
    size += part.byteLength;
    if (size > max) throw tooLarge();
    parts.push(part);
  }
  return Buffer.concat(parts, size);
}

function dedupeKeyOf(
  endpoint: Endpoint,
  headers: Headers,
  body: Uint8Array,
  field: JsonFields,
): string {
  const key =
    endpoint.dedupeHeader !== undefined
      ? (headers.get(endpoint.dedupeHeader) ?? undefined)
      : firstOf(presetOf(endpoint)?.dedupe ?? [], headers, field);
  // No delivery id (a Slack slash command, a sender without one): the same bytes are the same
  // delivery.
  return key?.slice(0, 200) ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

function eventTypeOf(
  endpoint: Endpoint,
  headers: Headers,
  body: Uint8Array,
  field: JsonFields,
): string {
  if (
    endpoint.provider.type === 'slack' &&
    (headers.get('content-type') ?? '').includes('form-urlencoded')
  ) {
    return new URLSearchParams(Buffer.from(body).toString('utf8')).get('command') ?? 'slack';
  }
  if (endpoint.provider.type === 'discord')
    return DISCORD_TYPES[field.number('type') ?? 0] ?? 'interaction';
  const named = firstOf(presetOf(endpoint)?.event ?? [], headers, field) ?? field('type');
  return named?.slice(0, 200) ?? endpoint.provider.type;
}

/**
 * Meta's subscription check: `GET /hooks/<id>?hub.mode=subscribe&hub.verify_token=<token>&
 * hub.challenge=<text>` is answered with the challenge when the token is the endpoint's.
 */
export async function answerSubscriptionCheck(
  endpoints: EndpointCache,
  endpointIdInput: string,
  query: URLSearchParams,
): Promise<string> {
  const endpointId = validateId('endpoint id', endpointIdInput);
  const endpoint = await endpoints.get(endpointId);
  if (!endpoint)
    throw new NotFoundError(`There is no webhook endpoint ${endpointId}.`, 'endpoint_not_found');
  if (endpoint.provider.type !== 'meta' || endpoint.verifyToken === undefined)
    throw new MethodNotAllowedError('GET', ['POST']);
  const challenge = query.get('hub.challenge');
  if (query.get('hub.mode') !== 'subscribe' || challenge === null || challenge === '')
    throw new ValidationError(
      'invalid_subscription_check',
      'A subscription check has hub.mode=subscribe, hub.verify_token and hub.challenge.',
    );
  const token = Buffer.from(query.get('hub.verify_token') ?? '');
  const expected = Buffer.from(endpoint.verifyToken);
  if (token.length !== expected.length || !timingSafeEqual(token, expected))
    throw new ForbiddenError(
      'wrong_verify_token',
      `hub.verify_token is not endpoint ${endpointId}'s verify token (shown when it was created); enter that one as the Verify token in Meta's webhook settings.`,
    );
  return challenge.slice(0, 1000);
}

/** The URL the sender called: the request's, on the public origin when one is configured. */
export function publicUrlOf(requestUrl: string, publicUrl: string | undefined): string {
  if (publicUrl === undefined) return requestUrl;
  const url = new URL(requestUrl);
  const base = new URL(publicUrl);
  const prefix = base.pathname.replace(/\/$/, '');
  return `${base.origin}${prefix}${url.pathname}${url.search}`;
}

const json = (value: unknown): WebhookIngestResult => ({
  status: 'answer',
  body: JSON.stringify(value),
  contentType: 'application/json',
});
const DISCORD_DEFERRED = json({ type: 5 });
/** Discord's interaction types, as event types. */
const DISCORD_TYPES: Readonly<Record<number, string>> = {
  1: 'ping',
  2: 'application_command',
  3: 'message_component',
  4: 'application_command_autocomplete',
  5: 'modal_submit',
};

/**
 * The handshakes providers make before (or between) deliveries, answered here and stored as
 * nothing: Slack's `url_verification` (echo the challenge), Zoom's `endpoint.url_validation`
 * (the plain token and its HMAC with the secret that signed the request), Twitch's
 * `webhook_callback_verification` (the challenge as plain text), Discord's PING (`{"type":1}`).
 * Each arrives signed, and was verified before this.
 */
function handshakeAnswer(
  endpoint: Endpoint,
  headers: Headers,
  body: Uint8Array,
  field: JsonFields,
  now: Date,
): WebhookIngestResult | undefined {
  switch (endpoint.provider.type) {
    case 'slack': {
      const challenge = field('type') === 'url_verification' ? field('challenge') : undefined;
      return challenge === undefined ? undefined : json({ challenge });
    }
    case 'zoom': {
      const plainToken = field('payload.plainToken');
      if (field('event') !== 'endpoint.url_validation' || plainToken === undefined)
        return undefined;
      const secret = endpoint.secrets.find(
        (candidate) =>
          verifySignature(endpoint.provider, {
            headers,
            body,
            secrets: [candidate],
            nowSeconds: Math.floor(now.getTime() / 1000),
          }).ok,
      );
      const encryptedToken = createHmac('sha256', secret ?? '')
        .update(plainToken)
        .digest('hex');
      return json({ plainToken, encryptedToken });
    }
    case 'twitch': {
      const challenge = field('challenge');
      return headers.get('twitch-eventsub-message-type') === 'webhook_callback_verification' &&
        challenge !== undefined
        ? { status: 'answer', body: challenge, contentType: 'text/plain; charset=utf-8' }
        : undefined;
    }
    case 'discord':
      return field.number('type') === 1 ? json({ type: 1 }) : undefined;
    default:
      return undefined;
  }
}

function presetOf(endpoint: Endpoint): Preset | undefined {
  const { type } = endpoint.provider;
  return type === 'hmac' || type === 'token' ? undefined : PRESETS[type];
}

/** The first of the sources that the delivery has. */
function firstOf(
  sources: readonly Source[],
  headers: Headers,
  field: JsonFields,
): string | undefined {
  for (const source of sources) {
    const value = 'header' in source ? headers.get(source.header) : field(source.field);
    if (value !== null && value !== undefined && value !== '') return value;
  }
  return undefined;
}

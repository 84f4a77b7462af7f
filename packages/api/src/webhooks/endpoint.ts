import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  ValidationError,
  validateId,
  validateScope,
  type Entity,
  type StoredEntity,
} from '@nexus/core';
import type { WebhookProvider } from './verify-signature.ts';
import type { DeliveryAction } from './webhook-item.ts';
import { PRESETS, PRESET_NAMES, isPresetName } from './provider-presets.ts';

/**
 * A webhook endpoint: where one external service posts, which agent it is for, how its requests
 * are verified, and what the agent's gateway is asked to do with each one (`wake`, `agent`, or a
 * named hooks mapping). Secrets are kept as given: HMAC verification needs them in clear.
 */
export interface Endpoint {
  readonly id: string;
  /** The host whose worker delivers this endpoint's webhooks, to its agent `agentId`. */
  readonly hostId: string;
  readonly agentId: string;
  readonly provider: WebhookProvider;
  readonly secrets: readonly string[];
  readonly action:
    | { readonly type: 'wake' }
    | { readonly type: 'agent' }
    | { readonly type: 'mapping'; readonly name: string };
  readonly template?: string;
  /** For `hmac` and `token` endpoints: a header holding the sender's delivery id. */
  readonly dedupeHeader?: string;
  /**
   * For Meta endpoints: the token Meta's subscription check (`GET ?hub.verify_token=`) must
   * present, made by Nexus at creation and shown with the secret, once.
   */
  readonly verifyToken?: string;
  /** `false`: deliveries are refused (403). */
  readonly enabled: boolean;
  /**
   * Only these event types are delivered (exact, or a prefix ending in `*`); others are answered
   * 2xx and kept as `filtered`. Absent: every event.
   */
  readonly events?: readonly string[];
  /** `true`: deliveries are accepted and kept, and go to the agent when it is resumed. */
  readonly paused?: boolean;
  /** `true`: when one of its items goes dead, the agent is woken with a short notice (hourly at most). */
  readonly notifyDead?: boolean;
  readonly createdAt: string;
}

export const ENDPOINTS_PARTITION = 'endpoint';

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name, e.g. "x-signature"');

/** An event type as a filter names it: exact, or a prefix ending in `*` (`issues`, `invoice.*`). */
export const eventPatternSchema = z
  .string()
  .regex(
    /^[\x21-\x29\x2b-\x7e]{1,200}\*?$|^\*$/,
    'an event type is printable ASCII without spaces, with "*" only at its end (e.g. "invoice.*")',
  );
export const eventsSchema = z
  .array(eventPatternSchema)
  .min(1, 'list at least one event type, or leave "events" out to accept every event')
  .max(50, 'at most 50 event types');

/** Whether an endpoint delivers this event type (its `events` filter). */
export function acceptsEvent(endpoint: Pick<Endpoint, 'events'>, eventType: string): boolean {
  if (endpoint.events === undefined) return true;
  return endpoint.events.some((pattern) =>
    pattern.endsWith('*') ? eventType.startsWith(pattern.slice(0, -1)) : eventType === pattern,
  );
}

/** An endpoint holds one to this many secrets at once (rotation: add the new, remove the old). */
export const MAX_SECRETS = 5;

/** A secret as a sender's settings page takes it: 8 to 256 printable characters, no spaces. */
export const secretSchema = z
  .string()
  .min(8, 'a secret must be at least 8 characters')
  .max(256, 'a secret must be at most 256 characters')
  .regex(/^[\x21-\x7e]+$/, 'a secret must be printable ASCII without spaces');

export const createEndpointSchema = z
  .object({
    id: z.string().optional(),
    hostId: z.string().optional(),
    agentId: z.string(),
    provider: z.enum([...PRESET_NAMES, 'hmac', 'token'], {
      message: `must be one of ${[...PRESET_NAMES, 'hmac', 'token'].join(', ')}`,
    }),
    header: headerName.optional(),
    secrets: z.array(secretSchema).min(1).max(MAX_SECRETS).optional(),
    action: z
      .enum(['wake', 'agent', 'mapping'], { message: 'must be wake, agent or mapping' })
      .default('agent'),
    mapping: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a hooks mapping name')
      .optional(),
    template: z.string().max(4000).optional(),
    dedupeHeader: headerName.optional(),
    enabled: z.boolean().default(true),
    events: eventsSchema.optional(),
    paused: z.boolean().optional(),
    notifyDead: z.boolean().optional(),
  })
  .strict();

export type CreateEndpoint = z.infer<typeof createEndpointSchema>;

/**
 * Builds a validated endpoint; generates an id and a secret where none was given. `hostId` is the
 * input's, resolved by the caller when it was left out.
 */
export function newEndpoint(input: CreateEndpoint & { hostId: string }, now: Date): Endpoint {
  const id = validateId('endpoint id', input.id ?? `ep-${randomBytes(6).toString('hex')}`);
  const { hostId, agentId } = validateScope(input.hostId, input.agentId);
  let provider: WebhookProvider;
  if (input.provider === 'hmac' || input.provider === 'token') {
    if (!input.header)
      throw new ValidationError(
        'missing_header_name',
        `A ${input.provider} endpoint needs "header": the request header that carries the ${input.provider === 'hmac' ? 'signature' : 'token'}.`,
      );
    provider = { type: input.provider, header: input.header.toLowerCase() };
  } else {
    provider = { type: input.provider };
  }
  if (input.action === 'mapping' && !input.mapping) {
    throw new ValidationError(
      'missing_mapping',
      'A "mapping" action needs "mapping": the name of the OpenClaw hooks mapping (POST /hooks/<name>).',
    );
  }
  const action: Endpoint['action'] =
    input.action === 'mapping'
      ? { type: 'mapping', name: input.mapping ?? '' }
      : { type: input.action };
  return {
    id,
    hostId,
    agentId,
    provider,
    secrets: input.secrets ?? [generateSecret(input.provider)],
    action,
    ...(input.template === undefined ? {} : { template: input.template }),
    ...(input.dedupeHeader === undefined ? {} : { dedupeHeader: input.dedupeHeader.toLowerCase() }),
    ...(input.provider === 'meta' ? { verifyToken: randomBytes(18).toString('base64url') } : {}),
    enabled: input.enabled,
    ...(input.events === undefined ? {} : { events: [...new Set(input.events)] }),
    ...(input.paused === true ? { paused: true } : {}),
    ...(input.notifyDead === true ? { notifyDead: true } : {}),
    createdAt: now.toISOString(),
  };
}

/** What the worker asks the gateway to do with an endpoint's webhooks, as the queue stores it. */
export function deliveryActionOf(endpoint: Endpoint): DeliveryAction {
  return {
    action: endpoint.action.type,
    ...(endpoint.action.type === 'mapping' ? { mapping: endpoint.action.name } : {}),
    ...(endpoint.template === undefined ? {} : { template: endpoint.template }),
  };
}

/** Standard Webhooks keys are `whsec_` + base64; the others are opaque strings. */
export function generateSecret(provider: string): string {
  const bytes = randomBytes(24);
  return isPresetName(provider) && PRESETS[provider].secretStyle === 'whsec'
    ? `whsec_${bytes.toString('base64')}`
    : bytes.toString('base64url');
}

export function endpointEntity(endpoint: Endpoint): Entity {
  return {
    partitionKey: ENDPOINTS_PARTITION,
    rowKey: endpoint.id,
    properties: { json: JSON.stringify(endpoint) },
  };
}

export function endpointFromEntity(entity: StoredEntity): Endpoint {
  return JSON.parse(String(entity.properties['json'])) as Endpoint;
}

/** What the read API shows: never a secret, only how many and their last four characters. */
export function publicEndpoint(endpoint: Endpoint) {
  const { secrets, verifyToken, ...rest } = endpoint;
  return {
    ...rest,
    secrets: secrets.map((secret) => `…${secret.slice(-4)}`),
    ...(verifyToken === undefined ? {} : { verifyToken: `…${verifyToken.slice(-4)}` }),
    url: `/hooks/${endpoint.id}`,
  };
}

import { ValidationError } from '@nexus/core';
import { z } from 'zod';
import {
  MAX_SECRETS,
  eventsSchema,
  generateSecret,
  secretSchema,
  type Endpoint,
} from './endpoint.ts';

export const endpointPatchSchema = z
  .object({
    enabled: z.boolean().optional(),
    /** `true` generates a secret; a string adds that one. The old ones stay valid (rotation). */
    addSecret: z.union([z.literal(true), secretSchema]).optional(),
    /** Removes the secret ending in these characters (as the read API shows them). */
    removeSecret: z.string().min(4).optional(),
    /** A new message template; `null` goes back to the provider's default summary. */
    template: z.string().max(4000).nullable().optional(),
    /** Event types delivered from now on; `null` delivers every event again. */
    events: eventsSchema.nullable().optional(),
    /** `true` keeps deliveries for later; `false` delivers what was kept, and what comes. */
    paused: z.boolean().optional(),
    notifyDead: z.boolean().optional(),
  })
  .strict();

export type EndpointPatch = z.infer<typeof endpointPatchSchema>;

/**
 * The rules of `PATCH /v1/endpoints/{id}`, pure: secrets rotate (one to five at a time, the last
 * one never removed), a template or an event filter is set or cleared, the endpoint enabled or
 * disabled, paused or resumed, its dead-item notices turned on or off. Returns the
 * changed endpoint and the secret that was added, shown once.
 */
export function applyEndpointPatch(
  endpoint: Endpoint,
  patch: EndpointPatch,
  newSecret: (provider: string) => string = generateSecret,
): { readonly endpoint: Endpoint; readonly addedSecret: string | undefined } {
  let secrets = [...endpoint.secrets];
  let added: string | undefined;
  if (patch.addSecret !== undefined) {
    added = patch.addSecret === true ? newSecret(endpoint.provider.type) : patch.addSecret;
    secrets.push(added);
    if (secrets.length > MAX_SECRETS)
      throw new ValidationError(
        'too_many_secrets',
        `Endpoint ${endpoint.id} has ${String(MAX_SECRETS)} secrets already, the most it may hold; remove an old one first (removeSecret).`,
      );
  }
  if (patch.removeSecret !== undefined) {
    const suffix = patch.removeSecret.replace(/^…/, '');
    const matching = secrets.filter((secret) => secret.endsWith(suffix));
    if (matching.length !== 1) {
      throw new ValidationError(
        'secret_not_identified',
        matching.length === 0
          ? `No secret of endpoint ${endpoint.id} ends in "${suffix}"; GET the endpoint to see their last characters.`
          : `${String(matching.length)} secrets end in "${suffix}"; give more of the secret's last characters.`,
      );
    }
    secrets = secrets.filter((secret) => secret !== matching[0]);
    if (secrets.length === 0)
      throw new ValidationError(
        'last_secret',
        'That would remove the last secret; add the new one first (addSecret), then remove the old one.',
      );
  }
  const {
    template: _old,
    events: _events,
    paused: _paused,
    notifyDead: _notify,
    ...rest
  } = endpoint;
  const template = patch.template === undefined ? endpoint.template : (patch.template ?? undefined);
  const events =
    patch.events === undefined ? endpoint.events : (patch.events ?? undefined)?.filter(unique);
  const paused = patch.paused ?? endpoint.paused ?? false;
  const notifyDead = patch.notifyDead ?? endpoint.notifyDead ?? false;
  return {
    endpoint: {
      ...rest,
      ...(template === undefined ? {} : { template }),
      ...(events === undefined ? {} : { events }),
      ...(paused ? { paused } : {}),
      ...(notifyDead ? { notifyDead } : {}),
      secrets,
      enabled: patch.enabled ?? endpoint.enabled,
    },
    addedSecret: added,
  };
}

function unique(value: string, index: number, all: readonly string[]): boolean {
  return all.indexOf(value) === index;
}

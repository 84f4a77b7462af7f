import { z } from 'zod';
import {
  ForbiddenError,
  UnauthorizedError,
  ValidationError,
  validateHostId,
  type Storage,
} from '@nexus/core';
import { authorize } from '../../auth/access.ts';
import type { Authenticator } from '../../auth/authenticator.ts';
import { createEnrolment, redeemEnrolment } from '../../auth/enrolments.ts';
import type { KeyStore, NewKey } from '../../auth/key-store.ts';
import { ROLES } from '../../auth/principal.ts';
import { clientAddressOf, type NexusApp } from '../app-env.ts';
import { readJsonAs } from '../json-body.ts';
import { route } from '../route-table.ts';

export interface KeyRouteDeps {
  readonly storage: Storage;
  readonly keys: KeyStore;
  readonly authenticator: Authenticator;
  readonly now: () => Date;
}

const createKeySchema = z
  .object({
    role: z.enum(ROLES, { message: 'must be admin, worker or reader' }),
    hostId: z.string().optional(),
    hosts: z.union([z.literal('all'), z.array(z.string()).min(1).max(100)]).optional(),
    label: z
      .string()
      .max(100)
      // eslint-disable-next-line no-control-regex -- control characters are what is refused here
      .regex(/^[^\u0000-\u001f\u007f]*$/, 'must be printable')
      .optional(),
  })
  .strict();

const enrolmentSchema = z
  .object({
    hostId: z.string(),
    ttlHours: z
      .number()
      .min(0.05)
      .max(24 * 7)
      .optional(),
  })
  .strict();

const redeemSchema = z.object({ code: z.string().min(1).max(200) }).strict();

/** Keys (admin only) and enrolment: codes made by an admin, redeemed by a new host. */
export function keyRoutes(app: NexusApp, deps: KeyRouteDeps): void {
  const { keys } = deps;
  const manage = (what: string) => ({ kind: 'manage', what }) as const;

  route(app, '/v1/keys', {
    GET: async (c) => {
      authorize(c.get('principal'), manage('lists keys'));
      return c.json({ keys: await keys.list() });
    },
    POST: async (c) => {
      authorize(c.get('principal'), manage('creates a key'));
      const input = await readJsonAs(c, createKeySchema, 'invalid_key');
      const created = await keys.create(newKeyOf(input));
      // The only time the key is shown: Nexus keeps its hash.
      return c.json({ key: created.key, ...created.record }, 201);
    },
  });

  route(app, '/v1/keys/:keyId', {
    DELETE: async (c) => {
      authorize(c.get('principal'), manage('revokes a key'));
      return c.json(await keys.revoke(c.req.param('keyId') ?? ''));
    },
  });

  route(app, '/v1/enrolments', {
    POST: async (c) => {
      authorize(c.get('principal'), manage('creates an enrolment code'));
      const input = await readJsonAs(c, enrolmentSchema, 'invalid_enrolment');
      const enrolment = await createEnrolment(
        deps.storage,
        validateHostId(input.hostId),
        deps.now(),
        ...(input.ttlHours === undefined ? [] : [Math.round(input.ttlHours * 3600_000)]),
      );
      return c.json(enrolment, 201);
    },
  });

  // Open (no key): the code is the credential; a wrong one counts as a failed authentication.
  route(app, '/v1/enrol', {
    POST: async (c) => {
      const { code } = await readJsonAs(c, redeemSchema, 'invalid_enrol');
      try {
        const created = await redeemEnrolment(deps.storage, keys, code, deps.now());
        return c.json({ key: created.key, ...created.record }, 201);
      } catch (error) {
        if (error instanceof UnauthorizedError || error instanceof ForbiddenError)
          deps.authenticator.fail(clientAddressOf(c));
        throw error;
      }
    },
  });
}

function newKeyOf(input: z.infer<typeof createKeySchema>): NewKey {
  const label = input.label === undefined ? {} : { label: input.label };
  switch (input.role) {
    case 'admin':
      if (input.hostId !== undefined || input.hosts !== undefined)
        throw new ValidationError(
          'invalid_key',
          'An admin key is for every host: leave out "hostId" and "hosts".',
        );
      return { role: 'admin', ...label };
    case 'worker':
      if (input.hostId === undefined || input.hosts !== undefined)
        throw new ValidationError(
          'invalid_key',
          'A worker key is for one host: give "hostId" (and no "hosts").',
        );
      return { role: 'worker', hostId: validateHostId(input.hostId), ...label };
    case 'reader':
      if (input.hostId !== undefined)
        throw new ValidationError(
          'invalid_key',
          'A reader key reads every host or a list: give "hosts": "all" or ["host", ...], not "hostId".',
        );
      return {
        role: 'reader',
        hosts:
          input.hosts === undefined || input.hosts === 'all'
            ? 'all'
            : [...new Set(input.hosts.map(validateHostId))],
        ...label,
      };
  }
}

import { ForbiddenError } from '@nexus/core';
import { describePrincipal, type Principal } from './principal.ts';

/**
 * What a route needs of the key that calls it:
 * - `manage`: change what is not a host's own data (endpoints, keys, replays): admin;
 * - `read` a host's data: admin, a reader of that host, or that host's worker (restore);
 * - `act` for a host (upload, claim, settle, announce): admin, or the worker of that host;
 * - `deliver` a host's webhook body: `read` or `act` (the worker fetches large bodies);
 * - `browse` across hosts (lists filtered to what the key may read): admin or any reader.
 */
export type Need =
  | { readonly kind: 'manage'; readonly what: string }
  | { readonly kind: 'browse'; readonly what: string }
  | { readonly kind: 'read'; readonly hostId: string; readonly what: string }
  | { readonly kind: 'act'; readonly hostId: string; readonly what: string }
  | { readonly kind: 'deliver'; readonly hostId: string; readonly what: string };

/**
 * Whether `principal` may read host `hostId`'s data. A worker reads its own host's backups (to
 * restore them onto the machine that made them) and nothing of any other host. Pure.
 */
export function canRead(principal: Principal, hostId: string): boolean {
  switch (principal.role) {
    case 'admin':
      return true;
    case 'worker':
      return principal.hostId === hostId;
    case 'reader':
      return principal.hosts === 'all' || principal.hosts.includes(hostId);
  }
}

/** Whether `principal` may act for host `hostId` (upload, claim, settle). Pure. */
export function canAct(principal: Principal, hostId: string): boolean {
  return principal.role === 'admin' || (principal.role === 'worker' && principal.hostId === hostId);
}

export function allows(principal: Principal, need: Need): boolean {
  switch (need.kind) {
    case 'manage':
      return principal.role === 'admin';
    case 'browse':
      return principal.role !== 'worker';
    case 'read':
      return canRead(principal, need.hostId);
    case 'act':
      return canAct(principal, need.hostId);
    case 'deliver':
      return canRead(principal, need.hostId) || canAct(principal, need.hostId);
  }
}

/** Throws a 403 that says which key this is and which the request needs, unless it is allowed. */
export function authorize(principal: Principal, need: Need): void {
  if (allows(principal, need)) return;
  throw new ForbiddenError(
    'forbidden_for_key',
    `This request ${need.what}, which needs ${describeNeed(need)}; it was sent with ${describePrincipal(principal)}.`,
  );
}

function describeNeed(need: Need): string {
  switch (need.kind) {
    case 'manage':
      return 'an admin key';
    case 'browse':
      return 'an admin key or a reader key';
    case 'read':
      return `an admin key, a reader key of host ${need.hostId} or its worker key`;
    case 'act':
      return `an admin key or the worker key of host ${need.hostId}`;
    case 'deliver':
      return `an admin key, a reader key of host ${need.hostId} or its worker key`;
  }
}

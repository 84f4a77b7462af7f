import { ValidationError } from './errors.ts';
import { validateId } from './ids.ts';

/**
 * A host is one machine running OpenClaw and a Nexus worker. Its id is chosen once (at
 * `nexus-worker init` or enrolment), kept in the worker's config, and keys everything the host
 * stores, so two machines whose agents share ids (every OpenClaw's default agent is `main`) never
 * mix. Host ids look like DNS labels: lowercase letters, digits and `-`, at most 63 characters.
 */
const HOST_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAX_HOST_ID_LENGTH = 63;

/** The host that data stored before hosts existed belongs to, unless configured otherwise. */
export const DEFAULT_HOST_ID = 'default';

export function validateHostId(value: string): string {
  if (HOST_ID_PATTERN.test(value)) return value;
  const hint =
    value.length === 0
      ? 'it is empty'
      : value.length > MAX_HOST_ID_LENGTH
        ? `it is ${value.length} characters long`
        : `${JSON.stringify(value.slice(0, 80))} has characters that are not allowed`;
  throw new ValidationError(
    'invalid_host_id',
    `The host id is not valid: ${hint}. Use 1 to ${MAX_HOST_ID_LENGTH} lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. ${JSON.stringify(normaliseHostId(value))}).`,
  );
}

/** A hostname (`Anna's MacBook.local`) made into a host id (`anna-s-macbook-local`). */
export function normaliseHostId(name: string): string {
  const id = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, MAX_HOST_ID_LENGTH)
    .replace(/^-+|-+$/g, '');
  return id === '' ? 'host' : id;
}

/** One agent of one host: the owner of sessions, usage and webhooks. */
export interface AgentScope {
  readonly hostId: string;
  readonly agentId: string;
}

/**
 * Neither a host id nor an agent id holds `~`, so `<host>~<agent>` names a scope unambiguously
 * and sorts after every id character (a host's scopes form one key range). Keys written before
 * hosts existed are bare agent ids: the upgrade finds them by the missing `~`.
 */
export const SCOPE_SEPARATOR = '~';

/** The table partition and blob folder of one agent of one host. */
export function scopeKey(scope: AgentScope): string {
  return `${scope.hostId}${SCOPE_SEPARATOR}${scope.agentId}`;
}

/** The scope a key names, or `undefined` for a key written before hosts existed. */
export function scopeOfKey(key: string): AgentScope | undefined {
  const at = key.indexOf(SCOPE_SEPARATOR);
  if (at <= 0) return undefined;
  return { hostId: key.slice(0, at), agentId: key.slice(at + 1) };
}

/**
 * The scope of a row stored in a scope's partition. A bare agent id here means data from before
 * hosts that the upgrade did not move: a fault, not input.
 */
export function scopeOfPartition(partitionKey: string): AgentScope {
  const scope = scopeOfKey(partitionKey);
  if (!scope) throw new Error(`partition ${partitionKey} is not a host's agent (<host>~<agent>)`);
  return scope;
}

/** Row-key bounds holding every `scopeKey` of one host. */
export function hostScopeRange(hostId: string): { rowKeyFrom: string; rowKeyTo: string } {
  return { rowKeyFrom: `${hostId}${SCOPE_SEPARATOR}`, rowKeyTo: `${hostId}${SCOPE_SEPARATOR}~` };
}

/** A scope from untrusted input, each part checked. */
export function validateScope(hostId: string, agentId: string): AgentScope {
  return { hostId: validateHostId(hostId), agentId: validateId('agent id', agentId) };
}

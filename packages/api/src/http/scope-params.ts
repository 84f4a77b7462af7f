import { validateHostId, validateScope, type AgentScope } from '@nexus/core';
import { authorize } from '../auth/access.ts';
import type { NexusContext } from './app-env.ts';

/**
 * The host a route names: its `:hostId`, or, on the deprecated routes without one
 * (`/v1/agents/...`, written before hosts existed), the default host.
 */
export function hostParam(c: NexusContext, defaultHostId: string): string {
  return validateHostId(c.req.param('hostId') ?? defaultHostId);
}

export function scopeParam(c: NexusContext, defaultHostId: string): AgentScope {
  return validateScope(hostParam(c, defaultHostId), c.req.param('agentId') ?? '');
}

/**
 * The scope a route names, once the key was found allowed to `kind` it (read it, act for it, or
 * fetch its webhook bodies); otherwise the 403 saying which key was sent and what it needs.
 */
export function authorizedScope(
  c: NexusContext,
  defaultHostId: string,
  kind: 'read' | 'act' | 'deliver',
  what: (scope: AgentScope) => string,
): AgentScope {
  const scope = scopeParam(c, defaultHostId);
  authorize(c.get('principal'), { kind, hostId: scope.hostId, what: what(scope) });
  return scope;
}

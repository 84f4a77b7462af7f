import { validateHostId, validateScope, type AgentScope } from '@nexus/core';
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
